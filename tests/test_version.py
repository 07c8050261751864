from packaging.version import Version

import prefect_dhis2


def test_version_is_a_pre_1_0_release():
    version = Version(prefect_dhis2.__version__)
    assert version.major == 0
