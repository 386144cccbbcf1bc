"""compose.yaml, deploy/k8s and deploy/nginx.conf read as files, no Docker engine or cluster needed:
the Kubernetes manifests pass the Kubernetes schemas (kubernetes-validate, schemas bundled) and
checkov's policies, and every file points at what really exists: the app's endpoints and port, the
image's user, the proxy's config file, command, port and upstream."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from app import DEFAULTS, create_app, errors
from harness.ci import skip_or_fail
from harness.proxy import CONTAINER_CONF, CONTAINER_PID, CONTAINER_PREFIX, NGINX_CONF, nginx_argv
from harness.serving import ROOT, config_value, dockerfile_env, final_stage, read_dockerfile

K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = ROOT / "deploy" / "kustomization.yaml"
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
NGINX_TEXT = NGINX_CONF.read_text()


def _manifests() -> dict[str, dict]:
    """Every Kubernetes object in deploy/k8s by kind."""
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            objects[document["kind"]] = document
    return objects


MANIFESTS = _manifests()
POD = MANIFESTS["Deployment"]["spec"]["template"]["spec"]
CONTAINERS = {c["name"]: c for c in POD["containers"]}


def _nginx_directive(name: str) -> list[str]:
    return re.findall(rf"^[ \t]*{name}[ \t]+([^;{{]+);", NGINX_TEXT, re.MULTILINE)


@pytest.fixture(scope="module")
def get_routes(tiny_weights) -> set[str]:
    """The paths the app answers to GET."""
    app = create_app({"WEIGHTS_PATH": str(tiny_weights)})
    return {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def _image_port() -> int:
    return int(dockerfile_env(read_dockerfile(), {})["PORT"])


def _image_user() -> int:
    [user] = [i.arguments for i in final_stage(read_dockerfile()) if i.keyword == "USER"]
    return int(user.split(":")[0])


# --- deploy/nginx.conf ------------------------------------------------------------------------


def test_nginx_conf_leaves_daemon_pid_and_user_to_the_command():
    for directive in ("daemon", "pid", "user"):
        assert not _nginx_directive(directive), directive


def test_nginx_conf_proxies_to_the_app_service_on_the_images_port_and_listens_on_8080():
    assert _nginx_directive("server") == [f"app:{_image_port()}"]
    assert _nginx_directive("listen") == ["8080"]


def test_nginx_conf_body_limit_is_the_apps():
    [size] = _nginx_directive("client_max_body_size")
    assert int(size.rstrip("m")) * 1024 * 1024 == DEFAULTS["MAX_CONTENT_LENGTH"]


def test_gixy_finds_no_issue_in_nginx_conf():
    gixy = Path(sys.executable).parent / "gixy"
    if not gixy.is_file():
        skip_or_fail(f"gixy not found at {gixy} (pip install -r requirements-dev.txt)")
    result = subprocess.run(
        [str(gixy), "--format", "json", str(NGINX_CONF)], capture_output=True, text=True, timeout=60
    )
    assert json.loads(result.stdout) == [], result.stdout[:3000]
    assert result.returncode == 0, result.stderr[-2000:]


def test_nginx_conf_answers_only_codes_of_the_apps_registry_with_their_status():
    mapping = re.search(r"map \$status \$error_code \{(.*?)\}", NGINX_CONF.read_text(), re.S).group(1)
    pairs = re.findall(r"^\s*(\d{3}|default)\s+([a-z_]+);", mapping, re.M)
    assert len(pairs) >= 8
    for status, code in pairs:
        assert code in errors.CODES, code
        assert errors.PROXY in errors.CODES[code].where, code
        if status != "default" and code != "bad_gateway":  # 502 and 503: the app is unavailable
            assert errors.CODES[code].status == int(status), (status, code)


def test_nginx_conf_logs_to_stdout_and_stderr():
    assert _nginx_directive("access_log") == ["/dev/stdout"]
    assert _nginx_directive("error_log") == ["stderr warn"]


# --- compose.yaml -----------------------------------------------------------------------------


def test_compose_runs_the_proxy_and_several_app_replicas_that_restart():
    services = COMPOSE["services"]
    assert set(services) == {"app", "proxy"}  # "app": the host nginx.conf's upstream names
    assert services["app"]["build"] == "." and services["app"]["deploy"]["replicas"] >= 2
    for service in services.values():
        assert service["restart"] == "unless-stopped"


def test_compose_publishes_only_the_proxy_on_its_listen_port():
    services = COMPOSE["services"]
    assert "ports" not in services["app"]
    assert services["app"]["expose"] == [str(_image_port())]
    assert services["proxy"]["ports"] == ["8080:8080"]


def test_compose_proxy_runs_nginx_as_the_tests_do_on_deploy_nginx_conf():
    proxy = COMPOSE["services"]["proxy"]
    assert proxy["entrypoint"] == nginx_argv(CONTAINER_PREFIX, CONTAINER_CONF, CONTAINER_PID)
    assert proxy["volumes"] == [f"./{NGINX_CONF.relative_to(ROOT)}:{CONTAINER_CONF}:ro"]
    assert proxy["tmpfs"] == [CONTAINER_PREFIX.rstrip("/")]  # the prefix: the temp files


def test_compose_starts_the_proxy_once_the_app_is_healthy_and_stops_it_first_and_gracefully():
    proxy = COMPOSE["services"]["proxy"]
    assert proxy["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert proxy["stop_signal"] == "SIGQUIT"  # nginx's graceful stop; SIGTERM cuts requests short
    assert int(COMPOSE["services"]["app"]["stop_grace_period"].rstrip("s")) > config_value("graceful_timeout")


@pytest.mark.parametrize("service, port", [("app", None), ("proxy", 8080)])
def test_compose_healthchecks_call_real_endpoints(get_routes, service, port):
    command = " ".join(COMPOSE["services"][service]["healthcheck"]["test"][1:])
    [url] = re.findall(r"http://[^\s'\"]+", command)
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port == (port or _image_port())
    assert parts.path in get_routes


def test_compose_containers_are_read_only_with_a_tmpfs_and_no_privileges():
    for service in COMPOSE["services"].values():
        assert service["read_only"] is True and "/tmp" in service["tmpfs"]
        assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"]


# --- deploy/k8s: against the schemas and checkov ------------------------------------------------


def test_kubernetes_manifests_pass_the_kubernetes_schemas_strictly():
    try:
        import kubernetes_validate
    except ImportError:
        skip_or_fail("kubernetes-validate is not installed (pip install -r requirements-dev.txt)")
    version = kubernetes_validate.latest_version()
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(document, version, strict=True)  # raises on any error


def _checkov() -> Path:
    path = Path(os.environ.get("CHECKOV") or ROOT / ".venv" / "checkov" / "bin" / "checkov")
    if not path.is_file():
        skip_or_fail(f"checkov not found at {path} (see requirements-checkov.txt)")
    return path


@pytest.mark.slow
def test_checkov_fails_no_check_on_the_kubernetes_manifests(tmp_path):
    # Offline: no policy mapping, guide or update downloads.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    result = subprocess.run(
        [
            str(_checkov()),
            "--directory",
            str(K8S),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    failed = report["results"]["failed_checks"]
    assert not failed, [(f["check_id"], f["check_name"], f["resource"]) for f in failed]
    assert report["summary"]["passed"] >= 50, report["summary"]  # it did check something
    assert result.returncode == 0, result.stderr[-2000:]
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"]["suppress_comment"]) > 20, skipped["check_id"]


def test_every_checkov_skip_in_the_manifests_gives_its_reason():
    for document in MANIFESTS.values():
        for key, value in (document["metadata"].get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert re.fullmatch(r"CKV2?_K8S_\d+", check) and len(reason.split()) >= 5, value


# --- deploy/k8s: what they point at ---------------------------------------------------------------


def test_kustomization_lists_every_manifest_and_makes_the_proxy_config_from_deploy_nginx_conf():
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    assert sorted(kustomization["resources"]) == sorted(f"k8s/{p.name}" for p in K8S.glob("*.yaml"))
    [generator] = kustomization["configMapGenerator"]
    assert generator["files"] == [NGINX_CONF.name] and (KUSTOMIZATION.parent / NGINX_CONF.name).is_file()
    volumes = {v["name"]: v for v in POD["volumes"]}
    [mount] = [m for m in CONTAINERS["proxy"]["volumeMounts"] if m["mountPath"] == CONTAINER_CONF]
    assert volumes[mount["name"]]["configMap"]["name"] == generator["name"]
    assert mount["subPath"] == NGINX_CONF.name and mount["readOnly"] is True


def test_the_proxy_container_runs_the_compose_command_and_reaches_app_on_the_pods_loopback():
    proxy = CONTAINERS["proxy"]
    assert proxy["command"] == COMPOSE["services"]["proxy"]["entrypoint"]
    assert proxy["image"] == COMPOSE["services"]["proxy"]["image"]
    assert {"ip": "127.0.0.1", "hostnames": ["app"]} in POD["hostAliases"]
    assert [p["containerPort"] for p in proxy["ports"]] == [8080]


def test_app_probes_call_readyz_and_healthz_on_the_images_port(get_routes):
    app = CONTAINERS["app"]
    assert [p["containerPort"] for p in app["ports"]] == [_image_port()]
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert app[probe]["httpGet"]["path"] in get_routes
        assert app[probe]["httpGet"]["port"] == app["ports"][0]["name"]
    assert CONTAINERS["proxy"]["readinessProbe"]["httpGet"]["path"] in get_routes


@pytest.mark.parametrize("name", ["app", "proxy"])
def test_containers_run_unprivileged_on_a_read_only_root_with_requests_and_limits(name):
    container = CONTAINERS[name]
    assert POD["securityContext"]["runAsNonRoot"] is True
    assert POD["automountServiceAccountToken"] is False
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"] and context["runAsUser"] >= 10000
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    # The root filesystem is read-only: /tmp is an emptyDir (gunicorn's heartbeat files,
    # nginx's prefix for request bodies in transit).
    volumes = {v["name"]: v for v in POD["volumes"]}
    [tmp] = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]


def test_the_app_runs_as_the_images_user():
    assert CONTAINERS["app"]["securityContext"]["runAsUser"] == _image_user()


def test_on_shutdown_the_app_outlives_the_proxy_within_the_grace_period():
    def pre_stop_seconds(container: dict) -> int:
        command = container["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep"
        return int(command[1])

    proxy, app = pre_stop_seconds(CONTAINERS["proxy"]), pre_stop_seconds(CONTAINERS["app"])
    assert app > proxy
    assert app + config_value("graceful_timeout") < POD["terminationGracePeriodSeconds"]


def test_service_and_network_policy_open_only_the_proxy_port():
    [port] = MANIFESTS["Service"]["spec"]["ports"]
    assert port["targetPort"] == CONTAINERS["proxy"]["ports"][0]["name"]
    [rule] = MANIFESTS["NetworkPolicy"]["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    selector = MANIFESTS["Deployment"]["spec"]["selector"]["matchLabels"]
    assert MANIFESTS["Service"]["spec"]["selector"] == selector
    assert MANIFESTS["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"] == selector


def test_autoscaler_scales_the_deployment_on_the_app_cpu_and_a_drain_keeps_one_pod():
    hpa, pdb = MANIFESTS["HorizontalPodAutoscaler"]["spec"], MANIFESTS["PodDisruptionBudget"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == MANIFESTS["Deployment"]["metadata"]["name"]
    [metric] = hpa["metrics"]
    assert metric["containerResource"]["name"] == "cpu" and metric["containerResource"]["container"] == "app"
    assert "replicas" not in MANIFESTS["Deployment"]["spec"]  # the autoscaler owns the count
    assert 1 <= pdb["minAvailable"] < hpa["minReplicas"] <= hpa["maxReplicas"]


def test_images_are_pinned_to_a_release_tag():
    for container in CONTAINERS.values():
        name, _, tag = container["image"].rpartition(":")
        assert name and tag and tag != "latest" and re.match(r"\d", tag), container["image"]
    assert COMPOSE["services"]["app"]["image"] == CONTAINERS["app"]["image"]
