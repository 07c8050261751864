"""A small Sierra Leone-shaped org unit tree for the pure tests."""

LEVELS = [{"level": 1, "name": "National"}, {"level": 2, "name": "District"},
          {"level": 3, "name": "Chiefdom"}]  # fmt: skip
UNITS = [
    {"id": "ImspTQPwCqd", "name": "Sierra Leone", "level": 1, "path": "/ImspTQPwCqd",
     "code": "OU_525", "openingDate": "1994-01-01T00:00:00.000"},
    {"id": "O6uvpzGd5pu", "name": "Bo", "level": 2, "path": "/ImspTQPwCqd/O6uvpzGd5pu",
     "parent": {"id": "ImspTQPwCqd"}, "code": "OU_264"},
    {"id": "YuQRtpLP10I", "name": "Badjia", "level": 3,
     "path": "/ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I", "parent": {"id": "O6uvpzGd5pu"},
     "geometry": {"type": "Point", "coordinates": [-11.5, 7.9]},
     "closedDate": "2020-05-01T00:00:00.000"},
]  # fmt: skip
