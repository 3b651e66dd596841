"""Exchange with other agencies' systems in edXML (QCVN 102:2016): the
message itself (`edxml`), its XML signature (`xmlsig`), building a package
for an issued document, receiving one from a configured peer into the
incoming register, and the peers (`service`); `api` and `pages` are its routes.

Other packages and the entry points use only the names below.
"""
