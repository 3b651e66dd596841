"""Without a proxy in front (trusted_proxies = 0, the default), the client is the
peer: headers a client writes itself do not change who it is."""
from __future__ import annotations


def test_a_forged_x_forwarded_for_does_not_escape_the_per_client_limit(start_server):
    server = start_server(verify_burst=3, verify_rate_per_minute=1)
    statuses = [
        server.request("GET", "/api/v1/ecopies/ABCD-EFGH-JKMN-PQRS-T",
                       headers={"X-Forwarded-For": f"203.0.113.{n}", "X-Real-IP": f"203.0.113.{n}"})[0]
        for n in range(4)
    ]
    assert 429 not in statuses[:3] and statuses[3] == 429
