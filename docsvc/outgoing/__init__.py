"""The outgoing workflow: a draft submitted to a leader, returned or signed
(one by one or in a batch), numbered, sealed and issued by the văn thư
(`workflow`); `views` is what its pages show.

Other packages and the entry points use only the names below.
"""
from docsvc.outgoing.workflow import (
    awaiting_signature,
    issue,
    job_json,
    return_to_drafter,
    sign_as_approver,
    start_batch,
    start_draft,
    submit,
)

__all__ = ["awaiting_signature", "issue", "job_json", "return_to_drafter", "sign_as_approver", "start_batch",
           "start_draft", "submit"]
