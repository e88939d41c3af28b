#!/usr/bin/env python3
"""Consistency checks of deploy/, run by tests/tools/check-deploy.sh.

1. The image recipe (deploy/docker/Dockerfile) builds as README.md says:
   its build stage installs exactly the Makefile's BUILD_PKGS and runs
   `make`; its runtime stage installs exactly the Debian packages of the
   libraries BUILD/paced links (readelf NEEDED, mapped with ldd and
   dpkg -S; libc6 is in the base image), plus tzdata and ca-certificates,
   and every library ldd loads comes from those packages or their
   dependencies (dpkg's Depends). Every file it copies is let through by
   Dockerfile.dockerignore.
2. deploy/k8s: the fields that matter, across files: probes on /healthz
   and /readyz on the port paced listens on, non-root and read-only,
   resources, the PodDisruptionBudget's and the Service's selectors
   against the pod labels, config and secret volumes against the
   ConfigMap, the Secret and the config's *_file keys.
3. deploy/compose: KRaft Kafka, the topics step before paced, the cluster
   profile, and the environment paced's image config reads.

usage: check-deploy.py BUILD_DIR     (run from the top of the source tree)
Writes the configs to check with `paced --check-config` into
BUILD_DIR/deploy-check/ and prints their paths as "config: NAME PATH ENV".
Exits 0 when clean, 1 otherwise.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

errors = []


def fail(msg):
    errors.append(msg)


def expect(cond, msg):
    if not cond:
        fail(msg)
    return cond


# ---- Dockerfile ----

def dockerfile_stages(path):
    """[(name, base, [(instruction, args)])] with continuations joined."""
    lines, cur = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        lines.append(cur + line)
        cur = ""
    stages = []
    for line in lines:
        instr, _, args = line.strip().partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.I)
            stages.append((m.group(2) or "", m.group(1), []))
        elif stages:
            stages[-1][2].append((instr, " ".join(args.split())))
    return stages


def apt_installed(steps):
    pkgs = []
    for instr, args in steps:
        if instr != "RUN":
            continue
        for cmd in re.split(r"&&|;", args):
            words = shlex.split(cmd)
            if words[:2] == ["apt-get", "install"]:
                pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def make_var(name):
    rule = "print-var:\n\t@echo $(%s)\n" % name
    out = subprocess.run(["make", "-s", "--no-print-directory", "-f", "Makefile",
                          "-f", "-", "print-var"], input=rule, text=True,
                         capture_output=True, check=True).stdout
    return out.split()


def dpkg_owners(paths):
    """{path: Debian package} in one dpkg -S call, trying each path as
    given, resolved, and under /lib and /usr/lib (merged /usr)."""
    cands = {}
    for path in paths:
        alts = [path, os.path.realpath(path)]
        for p in list(alts):
            for a, b in (("/usr/lib/", "/lib/"), ("/lib/", "/usr/lib/")):
                if p.startswith(a):
                    alts.append(b + p[len(a):])
        for a in alts:
            cands.setdefault(a, path)
    out = subprocess.run(["dpkg", "-S"] + list(cands), capture_output=True,
                         text=True).stdout
    owners = {}
    for line in out.splitlines():
        pkg, _, p = line.partition(": ")
        if p in cands and "," not in pkg:
            owners.setdefault(cands[p], pkg.split(":")[0])
    return owners


def ldd_libs(binary):
    """{soname: path} of every library the loader maps."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         check=True).stdout
    libs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
        if m and m.group(2).startswith("/"):
            libs[m.group(1)] = m.group(2)
    return libs


def needed(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True,
                         text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def depends_closure(pkgs):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Depends}, ${Pre-Depends}\n"],
                         capture_output=True, text=True, check=True).stdout
    deps = {}
    for line in out.splitlines():
        name, _, rest = line.partition("\t")
        names = set()
        for alt in rest.split(","):
            for d in alt.split("|"):
                d = re.sub(r"\(.*?\)", "", d).strip().split(":")[0]
                if d:
                    names.add(d)
        deps.setdefault(name, set()).update(names)
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += deps.get(p, ())
    return seen


def check_dockerfile(build):
    path = "deploy/docker/Dockerfile"
    stages = dockerfile_stages(path)
    names = [s[0] for s in stages]
    if not expect(names == ["build", "runtime"],
                  "%s: stages %s, want build then runtime" % (path, names)):
        return None
    (_, bbase, bsteps), (_, rbase, rsteps) = stages
    for base in (bbase, rbase):
        expect(base == "debian:12-slim", "%s: base %s, want debian:12-slim" % (path, base))
    with open("/etc/debian_version", encoding="utf-8") as f:
        expect(f.read().startswith("12"),
               "this machine is not Debian 12: the ldd check needs Debian 12's packages")

    # Build stage: the Makefile's packages and the README's command.
    build_pkgs, deb_pkgs = make_var("BUILD_PKGS"), make_var("DEB_PKGS")
    got = apt_installed(bsteps)
    expect(sorted(got) == sorted(build_pkgs),
           "%s: build stage installs %s; the Makefile's BUILD_PKGS are %s"
           % (path, " ".join(sorted(got)), " ".join(sorted(build_pkgs))))
    expect(set(build_pkgs) <= set(deb_pkgs), "Makefile: DEB_PKGS lacks some BUILD_PKGS")
    makes = [a for i, a in bsteps if i == "RUN" and re.match(r"make\b", a)]
    expect(makes == ["make"],
           "%s: build stage runs %s; README.md builds with a plain `make`" % (path, makes))
    readme = open("README.md", encoding="utf-8").read()
    expect("`make` (builds `build/paced`" in readme,
           "README.md no longer says `make` builds build/paced")
    workdir = [a for i, a in bsteps if i == "WORKDIR"]
    copies = [a for i, a in rsteps if i == "COPY" and a.startswith("--from=build")]
    expect(workdir and copies and copies[0].split()[1] ==
           os.path.join(workdir[-1], "build/paced"),
           "%s: the runtime stage does not copy the build stage's build/paced" % path)

    # Runtime stage: the libraries the binary links.
    binary = os.path.join(build, "paced")
    libs = ldd_libs(binary)
    owners = dpkg_owners(libs.values())
    direct = set()
    for so in needed(binary):
        if so not in libs:
            fail("%s: ldd does not resolve %s" % (binary, so))
            continue
        owner = owners.get(libs[so])
        if expect(owner, "%s: no Debian package owns %s" % (binary, libs[so])):
            direct.add(owner)
    base_pkgs = {"libc6"}
    extras = {"tzdata", "ca-certificates"}
    runtime = apt_installed(rsteps)
    expect(extras <= set(runtime), "%s: runtime stage lacks %s" % (path, extras - set(runtime)))
    want = direct - base_pkgs
    got = set(runtime) - extras
    expect(got == want,
           "%s: runtime stage installs libraries %s; %s links %s (ldd, dpkg -S; "
           "libc6 is in the base image)" % (path, " ".join(sorted(got)), binary,
                                            " ".join(sorted(want))))
    closure = depends_closure(set(runtime) | base_pkgs)
    for so, p in sorted(libs.items()):
        owner = owners.get(p)
        expect(owner in closure,
               "%s: %s (%s) is not among the runtime packages or their dependencies"
               % (path, so, owner))

    # Everything COPY takes from the context passes the ignore file.
    allowed = [l.strip()[1:].rstrip("/") for l in
               open(path + ".dockerignore", encoding="utf-8") if l.startswith("!")]
    for instr, args in bsteps + rsteps:
        if instr != "COPY" or args.startswith("--from"):
            continue
        for src in [w for w in args.split() if not w.startswith("--")][:-1]:
            expect(src.rstrip("/") in allowed,
                   "%s: COPY %s is excluded by Dockerfile.dockerignore" % (path, src))
            expect(os.path.exists(src), "%s: COPY %s: no such file" % (path, src))

    hc = [a for i, a in rsteps if i == "COPY" and "healthcheck" in a]
    expect(hc and "--chmod=0755" in hc[0] and
           os.access("deploy/docker/healthcheck.sh", os.X_OK),
           "%s: the health probe is not copied executable" % path)

    info = {"steps": rsteps}
    for instr, args in rsteps:
        if instr == "USER":
            info["uid"] = args.split(":")[0]
        if instr == "HEALTHCHECK":
            info["healthcheck"] = args
        if instr == "EXPOSE":
            info["expose"] = args.split()
    return info


def listen_port(cfg, where):
    listen = (cfg.get("http") or {}).get("listen", "")
    m = re.fullmatch(r"(.*):(\d+)", listen)
    if not expect(m, "%s: http.listen %r has no port" % (where, listen)):
        return None
    expect(m.group(1) == "0.0.0.0",
           "%s: http.listen %s: a container must listen on 0.0.0.0" % (where, listen))
    return int(m.group(2))


def check_image_config(img):
    path = "deploy/docker/paced.yaml"
    cfg = yaml.safe_load(open(path, encoding="utf-8"))
    port = listen_port(cfg, path)
    if img:
        expect(img.get("uid", "0") not in ("0", "root"), "Dockerfile: runs as root")
        hc = img.get("healthcheck", "")
        expect("/healthz" in hc and str(port) in hc,
               "Dockerfile: HEALTHCHECK %r does not probe /healthz on %s" % (hc, port))
        expect(str(port) in img.get("expose", []), "Dockerfile: EXPOSE lacks %s" % port)
    return cfg


# ---- Kubernetes ----

def load_k8s():
    objs = {}
    for name in sorted(os.listdir("deploy/k8s")):
        if name.endswith(".yaml"):
            for doc in yaml.safe_load_all(open("deploy/k8s/" + name, encoding="utf-8")):
                if doc:
                    objs.setdefault(doc.get("kind"), []).append((name, doc))
    return objs


def one(objs, kind):
    got = objs.get(kind, [])
    if not expect(len(got) == 1, "deploy/k8s: %d %s objects, want 1" % (len(got), kind)):
        return None, {}
    return got[0]


def check_k8s(img, out_dir):
    objs = load_k8s()
    _, dep = one(objs, "Deployment")
    _, svc = one(objs, "Service")
    _, pdb = one(objs, "PodDisruptionBudget")
    _, cm = one(objs, "ConfigMap")
    _, sec = one(objs, "Secret")
    _, kus = one(objs, "Kustomization")
    if not dep:
        return None
    pod = dep["spec"]["template"]
    labels = pod["metadata"].get("labels", {})
    sel = dep["spec"]["selector"]["matchLabels"]
    expect(sel.items() <= labels.items(), "Deployment: selector does not match the pod labels")
    pdb_sel = pdb.get("spec", {}).get("selector", {}).get("matchLabels", {})
    expect(pdb_sel and pdb_sel.items() <= labels.items(),
           "PodDisruptionBudget: selector %s does not match the pod labels %s" % (pdb_sel, labels))
    expect("maxUnavailable" in pdb.get("spec", {}) or "minAvailable" in pdb.get("spec", {}),
           "PodDisruptionBudget: neither maxUnavailable nor minAvailable")
    svc_sel = svc.get("spec", {}).get("selector", {})
    expect(svc_sel and svc_sel.items() <= labels.items(),
           "Service: selector does not match the pod labels")

    spec = pod["spec"]
    psc = spec.get("securityContext", {})
    expect(psc.get("runAsNonRoot") is True, "Deployment: runAsNonRoot is not true")
    expect(psc.get("runAsUser") not in (None, 0), "Deployment: runAsUser unset or 0")
    if img and "uid" in img:
        expect(str(psc.get("runAsUser")) == img["uid"],
               "Deployment: runAsUser %s, the image's USER is %s" % (psc.get("runAsUser"), img["uid"]))
    expect(spec.get("terminationGracePeriodSeconds", 30) >= 25,
           "Deployment: terminationGracePeriodSeconds below paced's 20 s drain")
    ctrs = spec.get("containers", [])
    if not expect(len(ctrs) == 1, "Deployment: %d containers, want 1" % len(ctrs)):
        return None
    c = ctrs[0]
    csc = c.get("securityContext", {})
    expect(csc.get("readOnlyRootFilesystem") is True, "Deployment: root file system is writable")
    expect(csc.get("allowPrivilegeEscalation") is False, "Deployment: privilege escalation allowed")
    expect("ALL" in csc.get("capabilities", {}).get("drop", []), "Deployment: capabilities not dropped")
    res = c.get("resources", {})
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            expect(r in res.get(part, {}), "Deployment: resources.%s.%s unset" % (part, r))

    # The config in the ConfigMap, as the pod sees it.
    data = cm.get("data", {})
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    cfg_path = None
    args = c.get("args", [])
    if expect("--config" in args, "Deployment: no --config argument"):
        cfg_path = args[args.index("--config") + 1]
    cfg_dir, cfg_name = os.path.split(cfg_path or "")
    cfg_mount = [n for n, m in mounts.items() if m["mountPath"] == cfg_dir]
    cfg = {}
    if expect(cfg_mount, "Deployment: nothing mounted at %s" % cfg_dir):
        vol = vols.get(cfg_mount[0], {}).get("configMap", {})
        expect(vol.get("name") == cm["metadata"]["name"],
               "Deployment: config volume names ConfigMap %s" % vol.get("name"))
        items = {i["key"]: i["path"] for i in vol.get("items", [])}
        for k, p in items.items():
            expect(k in data, "Deployment: config item %s is not in the ConfigMap" % k)
        if expect(cfg_name in items.values(), "Deployment: %s is not mounted" % cfg_path):
            key = [k for k, p in items.items() if p == cfg_name][0]
            cfg = yaml.safe_load(data.get(key, "")) or {}
            roster = cfg.get("roster_file")
            if roster:
                expect(roster in items.values(),
                       "ConfigMap: roster_file %s is not mounted beside the config" % roster)
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            expect(ref.get("name") == cm["metadata"]["name"] and ref.get("key") in data,
                   "Deployment: env %s names a missing ConfigMap key" % e["name"])

    # Probes and ports.
    port = listen_port(cfg, "ConfigMap paced.yaml") if cfg else None
    cports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    for probe, want in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c.get(probe, {}).get("httpGet", {})
        expect(get.get("path") == want, "Deployment: %s path %s, want %s" % (probe, get.get("path"), want))
        pport = cports.get(get.get("port"), get.get("port"))
        expect(pport == port, "Deployment: %s port %s, paced listens on %s" % (probe, pport, port))
    expect(cports.get("metrics") == port, "Deployment: no container port named metrics on %s" % port)
    ann = pod["metadata"].get("annotations", {})
    expect(ann.get("prometheus.io/port") == str(port) and ann.get("prometheus.io/path") == "/metrics",
           "Deployment: prometheus.io annotations do not name port %s and /metrics" % port)
    sports = svc.get("spec", {}).get("ports", [])
    expect(any(p.get("name") == "metrics" and p.get("targetPort") in ("metrics", port)
               for p in sports), "Service: no port named metrics aimed at the container's")

    # Secrets: every *_file key of the config is a key of the Secret (but
    # the roster and CA bundles, which are not secrets).
    sec_mount = [m["mountPath"] for n, m in mounts.items()
                 if vols.get(n, {}).get("secret", {}).get("secretName") == sec["metadata"]["name"]]
    files = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif (key.endswith("_file") and key not in ("roster_file", "ca_file")
              and isinstance(node, str)):
            files.append(node)
    walk(cfg)
    env_vals = {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
    if expect(sec_mount, "Deployment: Secret %s is not mounted" % sec["metadata"]["name"]):
        for f in files:
            f = re.sub(r"\$\{(\w+)\}", lambda m: env_vals.get(m.group(1), m.group(0)), f)
            d, b = os.path.split(f)
            expect(d == sec_mount[0] and b in sec.get("stringData", sec.get("data", {})),
                   "ConfigMap: %s is not a key of Secret %s mounted at %s"
                   % (f, sec["metadata"]["name"], sec_mount[0]))

    # kustomization: every manifest but the example Secret.
    if kus:
        res = kus.get("resources", [])
        for name, _ in [x for k, v in objs.items() if k not in ("Kustomization", "Secret") for x in v]:
            expect(name in res, "kustomization.yaml: %s not in resources" % name)
        for r in res:
            expect(os.path.exists("deploy/k8s/" + r), "kustomization.yaml: %s: no such file" % r)

    # For `paced --check-config`: the config and roster, secrets remapped.
    if cfg and sec_mount:
        d = os.path.join(out_dir, "k8s")
        os.makedirs(os.path.join(d, "secrets"), exist_ok=True)
        for k, p in items.items():
            text = data[k]
            with open(os.path.join(d, p), "w", encoding="utf-8") as f:
                f.write(text)
        for k in sec.get("stringData", {}):
            with open(os.path.join(d, "secrets", k), "w", encoding="utf-8") as f:
                f.write("placeholder\n")
        env = dict(env_vals)
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("configMapKeyRef")
            if ref and ref.get("key") in data:
                env[e["name"]] = data[ref["key"]]
        # The Secret's files: placeholders here, in a folder of our own.
        if env.get("CREDENTIALS_DIRECTORY") == sec_mount[0]:
            env["CREDENTIALS_DIRECTORY"] = os.path.abspath(os.path.join(d, "secrets"))
        print("config: k8s %s %s" % (os.path.join(d, cfg_name),
                                     " ".join("%s=%s" % kv for kv in env.items())))
    return True


# ---- compose ----

def check_compose(img_cfg):
    path = "deploy/compose/compose.yaml"
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    svcs = doc.get("services", {})
    kafka = svcs.get("kafka", {})
    expect(kafka.get("image", "").startswith("apache/kafka:"), "%s: kafka is not apache/kafka" % path)
    kenv = kafka.get("environment", {})
    expect("controller" in str(kenv.get("KAFKA_PROCESS_ROLES", "")),
           "%s: kafka is not in KRaft mode (KAFKA_PROCESS_ROLES)" % path)
    expect(not any("zookeeper" in k.lower() for k in kenv), "%s: kafka names ZooKeeper" % path)
    expect("healthcheck" in kafka, "%s: kafka has no healthcheck" % path)
    topics = svcs.get("topics", {})
    expect("create-topics.sh" in " ".join(map(str, topics.get("entrypoint", []))),
           "%s: the topics service does not run create-topics.sh" % path)
    expect(topics.get("depends_on", {}).get("kafka", {}).get("condition") == "service_healthy",
           "%s: topics does not wait for a healthy kafka" % path)
    paced = svcs.get("paced", {})
    deps = paced.get("depends_on", {})
    for s, cond in (("kafka", "service_healthy"), ("redis", "service_healthy"),
                    ("topics", "service_completed_successfully")):
        expect(deps.get(s, {}).get("condition") == cond,
               "%s: paced does not wait for %s (%s)" % (path, s, cond))
    expect(paced.get("build", {}).get("dockerfile") == "deploy/docker/Dockerfile",
           "%s: paced is not built from deploy/docker/Dockerfile" % path)
    nodes = [n for n, s in svcs.items() if "cluster" in s.get("profiles", [])
             and "--cluster-enabled" in s.get("command", [])]
    expect(len(nodes) == 3, "%s: profile cluster has %d Redis nodes, want 3" % (path, len(nodes)))
    create = [s for s in svcs.values() if "cluster" in s.get("profiles", [])
              and "cluster-create.sh" in " ".join(map(str, s.get("entrypoint", [])))]
    if expect(len(create) == 1, "%s: no cluster-create step in profile cluster" % path):
        listed = str(create[0].get("environment", {}).get("REDIS_CLUSTER_NODES", "")).split()
        expect(sorted(n.split(":")[0] for n in listed) == sorted(nodes),
               "%s: REDIS_CLUSTER_NODES %s are not the cluster nodes %s" % (path, listed, nodes))
    # The image config's ${VARS} are all set.
    env = paced.get("environment", {})
    wanted = set(re.findall(r"\$\{(\w+)\}", open("deploy/docker/paced.yaml", encoding="utf-8").read()))
    expect(wanted <= set(env), "%s: paced lacks environment %s" % (path, wanted - set(env)))
    ports = [str(p) for p in paced.get("ports", [])]
    port = listen_port(img_cfg, "deploy/docker/paced.yaml")
    expect(any(p.endswith(":%s" % port) for p in ports), "%s: paced does not publish %s" % (path, port))
    return env


def image_etc(img, out_dir):
    """Lays out what the Dockerfile copies into /etc/paced/ under
    out_dir/image/, for `paced --check-config` as the image would run it."""
    d = os.path.join(out_dir, "image")
    os.makedirs(d, exist_ok=True)
    got = []
    for instr, args in img["steps"]:
        words = [w for w in args.split() if not w.startswith("--")]
        if instr == "COPY" and not args.startswith("--from") and \
                words[-1].startswith("/etc/paced/"):
            shutil.copyfile(words[0], os.path.join(d, os.path.basename(words[-1])))
            got.append(os.path.basename(words[-1]))
    expect("paced.yaml" in got, "Dockerfile: no /etc/paced/paced.yaml in the image")
    return os.path.join(d, "paced.yaml")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = sys.argv[1]
    out_dir = os.path.join(build, "deploy-check")
    os.makedirs(out_dir, exist_ok=True)
    img = check_dockerfile(build)
    img_cfg = check_image_config(img)
    check_k8s(img, out_dir)
    env = check_compose(img_cfg)
    if img:
        print("config: image %s %s" % (image_etc(img, out_dir),
                                       " ".join("%s=%s" % kv for kv in sorted(env.items()))))
    for e in errors:
        print("check-deploy: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
