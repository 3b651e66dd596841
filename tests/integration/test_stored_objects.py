"""Store, then record, else remove: what a writer stored for rows that never
commit is gone from storage, while bytes that were there before (another
document's, content-addressed to the same key) stay, and so does what a
failure the writer will retry must not lose."""
from __future__ import annotations

import io

import pytest

from docsvc.stored import store_then_record


class RecordingFailed(Exception):
    pass


def test_objects_stored_for_rows_that_never_commit_are_removed(rt):
    with pytest.raises(RecordingFailed), store_then_record(rt) as store:
        stored = store.put(io.BytesIO(b"chu ky so cua lanh dao"), "application/pdf")
        assert rt.store.exists(stored.key)
        raise RecordingFailed()
    assert not rt.store.exists(stored.key)


def test_bytes_stored_before_stay_when_the_recording_fails(rt):
    earlier = rt.store.put(io.BytesIO(b"ban goc da luu"), "application/pdf")
    with pytest.raises(RecordingFailed), store_then_record(rt) as store:
        again = store.put(io.BytesIO(b"ban goc da luu"), "application/pdf")
        raise RecordingFailed()
    assert again.key == earlier.key and not again.created
    assert rt.store.exists(earlier.key)


def test_a_failure_outside_undo_on_keeps_what_was_stored(rt):
    with pytest.raises(RecordingFailed), store_then_record(rt, undo_on=KeyError) as store:
        stored = store.put(io.BytesIO(b"ban pdf tim kiem duoc"), "application/pdf")
        raise RecordingFailed()
    assert rt.store.exists(stored.key)
