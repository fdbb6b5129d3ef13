#!/usr/bin/env python3
"""Project rules for Dockerfile, docker-compose.yml and deploy/nginx.conf that
generic linters do not know (run by scripts/check-deploy; exits 1 naming each
broken rule):

* Dockerfile: at least two stages; the build stage runs scripts/fetch-models
  (it checks every model's sha256) and builds the release binary; the last
  stage is a slim image that runs as a non-root USER and has a HEALTHCHECK
  on /health.
* docker-compose.yml (read through `docker-compose config`, so anchors and
  defaults are resolved): PostgreSQL, an S3-compatible store, at least two
  ocr-server services and a proxy; every OCR_<SECTION>__<KEY> variable names a
  key of config/default.toml (an unknown one stops the server at start-up);
  the instances use S3 storage and PostgreSQL; the proxy's fixed address is
  in each instance's trusted_proxies.
* deploy/nginx.conf: proxies to every instance and sets X-Forwarded-For.
"""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
problems = []


def check(ok, message):
    if not ok:
        problems.append(message)


def dockerfile_rules():
    lines = []
    for raw in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        raw = raw.strip()
        if raw and not raw.startswith("#"):
            lines.append(raw)
    stages, current = [], None
    for line in lines:
        word = line.split()[0].upper()
        if word == "FROM":
            current = {"from": line, "lines": []}
            stages.append(current)
        elif current is not None:
            current["lines"].append(line)
    check(len(stages) >= 2, "Dockerfile: a multi-stage build (build, then runtime)")
    if len(stages) < 2:
        return
    build = " ".join(" ".join(s["lines"]) for s in stages[:-1])
    check("scripts/fetch-models" in build, "Dockerfile: the build stage fetches the models with scripts/fetch-models")
    check("cargo build --release" in build and "--locked" in build,
          "Dockerfile: the build stage runs cargo build --release --locked")
    runtime = stages[-1]
    check("slim" in runtime["from"] or "distroless" in runtime["from"],
          f"Dockerfile: the runtime stage is a slim image ({runtime['from']})")
    users = [line.split()[1] for line in runtime["lines"] if line.upper().startswith("USER ")]
    check(bool(users) and users[-1] not in ("root", "0", "0:0"), "Dockerfile: the runtime stage runs as a non-root USER")
    health = [line for line in runtime["lines"] if line.upper().startswith("HEALTHCHECK ")]
    check(any("/health" in line for line in health), "Dockerfile: a HEALTHCHECK on /health")
    check(any(line.upper().startswith("COPY --FROM=") and "ocr-server" in line for line in runtime["lines"]),
          "Dockerfile: the runtime stage copies the ocr-server binary from the build stage")


def config_keys():
    defaults = tomllib.loads((ROOT / "config/default.toml").read_text())
    return {(section, key) for section, table in defaults.items() if isinstance(table, dict) for key in table}


def compose_rules():
    rendered = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                              capture_output=True, text=True, check=True).stdout
    try:
        import yaml
    except ImportError:  # Debian's python3 has PyYAML (docker-compose depends on it)
        to_json = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"
        compose = json.loads(subprocess.run(["/usr/bin/python3", "-c", to_json], input=rendered,
                                            capture_output=True, text=True, check=True).stdout)
    else:
        compose = yaml.safe_load(rendered)
    services = compose["services"]
    images = {name: str(s.get("image", "")) for name, s in services.items()}
    check(any(i.startswith("postgres") for i in images.values()), "compose: a PostgreSQL service")
    check(any("minio" in i for i in images.values()), "compose: an S3-compatible store (MinIO)")
    proxies = [n for n, i in images.items() if i.startswith(("nginx", "caddy", "haproxy", "traefik"))]
    check(len(proxies) == 1, "compose: one reverse proxy service")
    instances = [n for n, s in services.items() if "build" in s or images[n].startswith("ocr-server")]
    check(len(instances) >= 2, f"compose: at least two ocr-server instances (found {instances})")
    proxy_ips = set()
    for name in proxies:
        for net in (services[name].get("networks") or {}).values():
            if net and net.get("ipv4_address"):
                proxy_ips.add(net["ipv4_address"])
    check(bool(proxy_ips), "compose: the proxy has a fixed address (to be trusted by the instances)")
    keys = config_keys()
    for name in instances:
        env = services[name].get("environment") or {}
        for var in env:
            match = re.fullmatch(r"OCR_([A-Z0-9_]+?)__([A-Z0-9_]+)", var)
            if match:
                key = (match.group(1).lower(), match.group(2).lower())
                check(key in keys, f"compose: {name}: {var} is no key of config/default.toml")
        check(str(env.get("DATABASE_URL", "")).startswith("postgres://"), f"compose: {name}: DATABASE_URL on PostgreSQL")
        check(env.get("OCR_PDF__STORAGE") == "s3", f"compose: {name}: OCR_PDF__STORAGE=s3 (shared PDF storage)")
        check(env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"), f"compose: {name}: S3 credentials")
        try:
            trusted = set(json.loads(env.get("OCR_SERVER__TRUSTED_PROXIES", "[]")))
        except ValueError:
            trusted = set()
        check(proxy_ips and proxy_ips <= trusted, f"compose: {name}: trusts the proxy's address {sorted(proxy_ips)}")
        health = (services[name].get("healthcheck") or {}).get("test")
        check(health is None or "/health" in " ".join(health), f"compose: {name}: a healthcheck on /health")
    return instances


def nginx_rules(instances):
    conf = (ROOT / "deploy/nginx.conf").read_text()
    for name in instances:
        check(re.search(rf"server\s+{re.escape(name)}:8080", conf), f"nginx.conf: {name}:8080 in the upstream")
    check(re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for", conf),
          "nginx.conf: sets X-Forwarded-For")


def main():
    dockerfile_rules()
    nginx_rules(compose_rules())
    for problem in problems:
        print(f"check_deploy: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("check_deploy: Dockerfile, docker-compose.yml and deploy/nginx.conf follow the project's rules")


if __name__ == "__main__":
    main()
