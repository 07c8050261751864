"""Data values area of the emulator: the value store (`store`), reads and imports (`models`)
and `/api/dataValueSets` (`responses`)."""
