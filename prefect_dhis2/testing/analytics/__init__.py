"""Analytics area of the emulator: request parsing (`request`), the grid (`grid`), indicator
evaluation (`indicators`), the endpoint outputs (`models`) and endpoints (`responses`)."""
