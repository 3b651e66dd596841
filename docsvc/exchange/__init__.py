"""Exchange with other agencies' systems in edXML (QCVN 102:2016): the
message itself (`edxml`), its XML signature (`xmlsig`), and the service
(`service`): building the package of an issued document, receiving one from
a configured peer into the incoming register, the peers themselves; `api`
and `pages` are its routes.

Other packages and the entry points use only the names below.
"""
from docsvc.exchange.edxml import BusinessType, PackageRefused
from docsvc.exchange.service import (
    Received,
    SendOptions,
    add_peer,
    build,
    inspect,
    list_peers,
    peer_for_token,
    receive,
    sent_statuses,
)

__all__ = ["BusinessType", "PackageRefused", "Received", "SendOptions", "add_peer", "build", "inspect", "list_peers",
           "peer_for_token", "receive", "sent_statuses"]
