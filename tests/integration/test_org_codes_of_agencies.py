"""An administrator gives agencies their organization codes, from the command line or the API."""
from __future__ import annotations


def test_agency_add_with_an_org_code_and_its_api_twin(rt, backend, make_user):
    added = backend.run("agency", "add", "UBND-TINH", "UBND tỉnh Quảng Bình", "--org-code", "000.00.00.H41",
                        "--level", "province", "--address", "6 Hùng Vương, Đồng Hới", check=True)
    assert "000.00.00.H41" in added.stdout
    refused = backend.run("agency", "add", "UBND-KHAC", "Khác", "--org-code", "000.00.00.h41")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "(invalid_org_code)" in refused.stderr
    taken = backend.run("agency", "add", "UBND-KHAC", "Khác", "--org-code", "000.00.00.H41")
    assert taken.returncode == 2 and "already has the organization code" in taken.stderr

    admin, clerk = make_user("admin", agency=None), make_user("clerk")
    made = admin.post("/api/v1/agencies", json={"code": "VPCP", "name": "Văn phòng Chính phủ", "org_code": "000.00.00.G22"})
    assert made.status_code == 201, made.get_json()
    bad = admin.post("/api/v1/agencies", json={"code": "X", "name": "X", "org_code": "G22." + "1" * 40})
    assert (bad.status_code, bad.get_json()["code"]) == (400, "invalid_org_code")
    assert clerk.post("/api/v1/agencies", json={"code": "Y", "name": "Y"}).status_code == 403
    listed = {a["code"]: a for a in clerk.get("/api/v1/agencies").get_json()["agencies"]}
    assert listed["UBND-TINH"]["org_code"] == "000.00.00.H41" and listed["VPCP"]["org_code"] == "000.00.00.G22"
    assert listed["UBND-TINH"]["address"] == "6 Hùng Vương, Đồng Hới"
    assert backend.run("agency", "set-org-code", "UBND-XA", "000.00.00.H41").returncode == 2
    assert backend.run("agency", "set-org-code", "UBND-XA", "000.00.31.H41", check=True).returncode == 0
