"""Shared infrastructure of the emulator: the ASGI app and servers, auth, faults and cost,
the `fields`/`filter` languages, paging links, WebMessages, import envelopes, the generated
dataset and the state container. Internal: not API (use `prefect_dhis2.testing`)."""
