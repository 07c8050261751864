"""System area of the emulator: system info, `me`, ping, UIDs (`models` + `responses`)."""
