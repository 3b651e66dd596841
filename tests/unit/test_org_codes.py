"""Organization codes (Decision 20/2020/QĐ-TTg): taken as the directory writes them, refused otherwise."""
import pytest

from docsvc import validation
from docsvc.errors import InvalidOrgCode


@pytest.mark.parametrize("code", ["000.00.00.G22", "000.00.00.H41", "H41", "000.00.31.H41.01", "A" * 35])
def test_codes_of_the_directory_are_taken(code):
    assert validation.org_code(f" {code} ") == code


@pytest.mark.parametrize("code", ["", "000.00.00.g22", "000..00.H41", ".H41", "H41.", "000 00 00 H41", "000-00-00-H41",
                                  "Đ00.00.00.H41", "A" * 36, "1" * 18 + "." + "2" * 17, None, 41])
def test_anything_else_is_refused_with_the_rule(code):
    with pytest.raises(InvalidOrgCode, match="at most 35 characters"):
        validation.org_code(code)
