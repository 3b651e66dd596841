"""Exchange with other agencies' systems in edXML (QCVN 102:2016): the
message itself (`edxml`), status messages (`status`), their XML signature
(`xmlsig`); the service (`service`): building the package of an issued
document, receiving one into the incoming register; the peers (`peers`);
statuses on both sides (`statuses`); sending through the outbox
(`delivery`); packages that arrive as files (`dropfolder`). `api` and
`pages` are its routes.

Other packages and the entry points use only the names below.
"""
from docsvc.exchange import delivery
from docsvc.exchange.dropfolder import take_drop_folder
from docsvc.exchange.edxml import BusinessType, PackageRefused
from docsvc.exchange.peers import add_peer, list_peers, peer_codes, peer_for_token, set_send_token
from docsvc.exchange.service import Received, SendOptions, build, inspect, receive, receive_file, sent_statuses
from docsvc.exchange.status import StatusCode
from docsvc.exchange.statuses import answer_recall, follow_register, record, request_recall, statuses_json

send_on_issue = delivery.send_on_issue

__all__ = ["BusinessType", "PackageRefused", "Received", "SendOptions", "StatusCode", "add_peer", "answer_recall",
           "build", "follow_register", "inspect", "list_peers", "peer_codes", "peer_for_token", "receive",
           "receive_file", "record", "request_recall", "send_on_issue", "sent_statuses", "set_send_token",
           "statuses_json", "take_drop_folder"]
