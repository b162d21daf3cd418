"""Every shipped runbook validates against the real handlers and the example environments."""

from bot.runbooks.loader import Catalogue
from bot.runbooks.schema import RollbackOnFailure

SHIPPED = {
    "deploy-blue-green", "deploy-pm2", "rollback-immediate", "rollback-database", "rollback-full",
    "maint-vacuum", "maint-reindex", "maint-backup-verify", "maint-redis-doctor", "maint-redis-lastsave",
    "maint-redis-config-backup", "maint-cert-check",
}


def test_every_shipped_runbook_validates(shipped: Catalogue) -> None:
    assert [str(p) for p in shipped.problems] == []
    assert set(shipped.runbooks) == SHIPPED


def test_the_runbook_s_dangerous_steps_are_marked(shipped: Catalogue) -> None:
    dangerous = {rid: [s.id for s in rb.steps if s.dangerous] for rid, rb in shipped.runbooks.items()}
    assert dangerous["deploy-blue-green"] == ["switch", "cleanup"]
    assert dangerous["rollback-immediate"] == ["switch_back"]
    assert dangerous["rollback-database"] == ["rollback_last", "rollback_to"]
    assert dangerous["rollback-full"] == ["restore", "flush_redis", "switch"]
    assert dangerous["deploy-pm2"] == ["pm2_deploy", "stop"]
    assert dangerous["maint-reindex"] == ["reindex"]


def test_blue_green_follows_the_runbook_order(shipped: Catalogue) -> None:
    handlers = [step.handler for step in shipped.get("deploy-blue-green").steps]
    assert handlers == [
        "nginx.live",  # which colour is idle
        "git.fetch", "git.verify_tag", "git.checkout",  # 1. prepare
        "docker.build", "docker.tag", "shell.run",
        "docker.run", "docker.exec", "http.health",  # 2. deploy, migrate, health
        "http.smoke", "shell.run",  # 3. smoke tests
        "nginx.switch",  # 4. switch
        "http.health", "docker.logs", "prometheus.watch",  # 5. verify and monitor
        "docker.stop", "docker.remove", "docker.prune",  # 6. cleanup
    ]


def test_failures_after_the_switch_offer_the_immediate_rollback(shipped: Catalogue) -> None:
    steps = {step.id: step for step in shipped.get("deploy-blue-green").steps}
    for step_id in ("verify", "monitor"):
        assert steps[step_id].on_failure == RollbackOnFailure(rollback="rollback-immediate")
    assert steps["switch"].on_failure == "stop"
    assert steps["cleanup"].delay == "{{ env.cleanup_after }}"
