import pytest

from orchestration.config import Settings
from orchestration.errors import PermissionDenied, ValidationFailed
from orchestration.rbac import Permission, Role, RoleConfig

CONFIG = RoleConfig.from_json(
    '{"admin": ["U0ADMIN"], "operator": ["alice", "S0OPS"], '
    '"approver": ["bob", "carol"], "default": "viewer"}'
)


def test_members_get_their_roles_and_everyone_else_the_default():
    assert CONFIG.roles_of("alice") == {Role.OPERATOR}
    assert CONFIG.roles_of("dave", groups=["S0OPS"]) == {Role.OPERATOR}
    assert CONFIG.roles_of("stranger") == {Role.VIEWER}
    assert Permission.APPROVE in CONFIG.permissions_of("bob")
    assert Permission.APPROVE not in CONFIG.permissions_of("alice")
    assert CONFIG.permissions_of("U0ADMIN") == set(Permission)


def test_require_names_the_missing_permission_and_who_has_it():
    CONFIG.require("alice", Permission.REQUEST_EXECUTION)
    with pytest.raises(PermissionDenied, match="may not approve: that needs the role admin, approver"):
        CONFIG.require("alice", Permission.APPROVE)


def test_no_default_means_no_access():
    config = RoleConfig.from_mapping({"viewer": ["x"], "default": "none"})
    assert config.roles_of("y") == set()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"superuser": ["x"]}', "unknown role 'superuser'"),
        ('{"admin": "x"}', "must be a list"),
        ('{"default": "root"}', "default must be one of"),
    ],
)
def test_bad_configuration_is_a_clear_error(text, message):
    with pytest.raises(ValidationFailed, match=message):
        RoleConfig.from_json(text)


def test_settings_read_roles_from_inline_json_or_a_file(tmp_path):
    assert Settings.from_env({"DRBOT_ROLES": '{"approver": ["bob"]}'}).roles.roles_of("bob") == {
        Role.APPROVER
    }
    path = tmp_path / "roles.json"
    path.write_text('{"admin": ["root"]}')
    assert Settings.from_env({"DRBOT_ROLES_FILE": str(path)}).roles.roles_of("root") == {Role.ADMIN}
    with pytest.raises(ValidationFailed, match="not both"):
        Settings.from_env({"DRBOT_ROLES": "{}", "DRBOT_ROLES_FILE": str(path)})
    with pytest.raises(ValidationFailed, match="cannot be read"):
        Settings.from_env({"DRBOT_ROLES_FILE": str(tmp_path / "missing.json")})
