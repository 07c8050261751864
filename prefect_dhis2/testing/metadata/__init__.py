"""Metadata area of the emulator: lists, single objects, the export (`models`), the import
(`imports`) and their endpoints (`responses`)."""
