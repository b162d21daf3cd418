"""Issue 4's zero-downtime claim at the handler level: nginx.switch between the blue and green containers
while a steady load goes through nginx, and not one request fails.

The full /deploy (Slack, approvals, the run engine) is tested elsewhere on the same stack; this is the
mechanism underneath it: write the upstream file, `nginx -t`, graceful reload, with both colours up.
"""

import asyncio

from handlers.docker import BuildParams, RunParams, build, run
from handlers.git import CheckoutParams, checkout
from handlers.http import HealthParams, health
from handlers.nginx import LiveParams, SwitchParams, live, switch
from handlers.registry import StepContext
from tests.stack.bluegreen import IMAGE, BlueGreenStack
from tests.stack.load import LoadGenerator

RPS = 200.0


def to(stack: BlueGreenStack, colour: str, version: str) -> SwitchParams:
    return SwitchParams.model_validate({
        "site_path": str(stack.site_path), "colour": colour, "upstream": stack.nginx.upstream,
        "servers": [f"127.0.0.1:{stack.ports[colour]}"],  # type: ignore[index]
        "version": version, "test_cmd": stack.test_cmd, "reload_cmd": stack.reload_cmd,
    })


async def test_switching_colours_under_load_fails_no_request(blue_green_stack: BlueGreenStack) -> None:
    stack = blue_green_stack
    blue = stack.colours["blue"]
    ctx = StepContext(timeout_s=120)

    # The deploy's preparation: v1.0.0 checked out, built and started in the idle colour, healthy.
    assert (await checkout(CheckoutParams(repo_dir=str(blue.app_dir), ref="refs/tags/v1.0.0"), ctx)).ok
    built = await build(BuildParams(context=str(blue.app_dir), tag=f"{IMAGE}:v1.0.0"), ctx)
    assert built.ok, built.output
    started = await run(RunParams(name=blue.container, image=f"{IMAGE}:v1.0.0", env=stack.container_env,
                                  ports={"3000/tcp": blue.port}), ctx)
    assert started.ok, started.output
    ready = await health(HealthParams(url=f"{blue.url}/health/detailed", expect_json={"version": "v1.0.0"},
                                      retries=20, interval_s=0.2), ctx)
    assert ready.ok, ready.output

    switches = []
    async with LoadGenerator(f"{stack.nginx_url}/", rps=RPS) as load:
        for colour, version in [("blue", "v1.0.0"), ("green", "v0.9.0"), ("blue", "v1.0.0")]:
            await asyncio.sleep(2.5)
            switches.append(await switch(to(stack, colour, version), ctx))
        await asyncio.sleep(2.5)

    assert [s.ok for s in switches] == [True, True, True], [s.summary for s in switches]
    report = load.report
    assert report.failures == []
    assert report.ok == report.sent > 0.8 * RPS * 10  # the load really ran through the switches
    # Around a reload old and new workers answer side by side for a moment, so the served version may
    # flicker at each switch; it starts on green v0.9.0 and ends on blue v1.0.0 having flipped each time.
    served = [version for _, version in report.changes]
    assert served[0] == "v0.9.0" and served[-1] == "v1.0.0" and len(served) >= 4
    assert set(report.versions) == {"v0.9.0", "v1.0.0"}
    assert stack.served_version() == "v1.0.0"

    now = await live(LiveParams(site_path=str(stack.site_path), health_url=stack.public_health_url), ctx)
    assert now.ok, now.summary
    assert (now.outputs["colour"], now.outputs["version"], now.outputs["idle_colour"]) == ("blue", "v1.0.0", "green")
