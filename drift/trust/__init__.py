"""Signatures and trust (SPEC 10): Ed25519 keys, DSSE envelopes carrying in-toto Statements, the trust file.

Built on the in-toto project's `securesystemslib` (DSSE envelopes and the Ed25519 signer) over
`cryptography`; nothing here reaches the network.
"""
