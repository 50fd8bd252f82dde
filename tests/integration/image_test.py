#!/usr/bin/env python3
"""The container image: built from the Containerfile by scripts/build-image.sh (buildah, vfs
storage, chroot isolation: daemon-less as root; Debian bases made with mmdebstrap when no
registry answers), then run as the DaemonSet runs it.

What must hold:
  - the image config: user 65534, ports 9464/4317/4318, entrypoint /usr/bin/lookout, OCI labels
    (version = CMake's, revision = this checkout's);
  - its files: no shell, no package manager, nothing owned by anyone but root, nothing writable
    by group or others, at most 60 MB uncompressed (the compressed size is printed too);
  - `lookout --version` inside the image reports this checkout's revision;
  - run with deploy/daemonset.yaml's own arguments and environment, on the host network, with
    the fixture /proc, /sys, cgroup and root trees mounted where the DaemonSet mounts the
    host's, the config deploy/lookout.yaml (kubelet URL pointed at a test kubelet, token and CA
    from a mounted service-account directory): /metrics answers with node and pod series, the
    node's time zone comes from the image's zoneinfo, the process runs as uid 65534 with no
    capabilities, and it writes nothing to the image's root filesystem.

Skipped (exit 77) with a message where no builder can run: no buildah, or not root.
LOOKOUT_IMAGE_TEST_REUSE=1 tests an image already built instead of building (development only;
the revision must then match the checkout).
Usage: image_test.py /path/to/lookout (unused: the image builds its own binary)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

from harness import FIXTURES, REPO, Harness, fail, free_port, http_get, parse_text, wait_for
from kubelet import TestKubelet

SKIP = 77
MAX_BYTES = 60 * 1000 * 1000
IMAGE = "localhost/lookout"
SHELLS_AND_PACKAGE_MANAGERS = {"sh", "bash", "dash", "ash", "zsh", "busybox", "toybox", "apt",
                               "apt-get", "dpkg", "rpm", "yum", "dnf", "apk", "microdnf", "pip"}
PODS = os.path.join(FIXTURES, "pods", "v2_systemd_containerd")
ENV = dict(os.environ, STORAGE_DRIVER="vfs", BUILDAH_ISOLATION="chroot")


def buildah(*args, check=True, **kw):
    r = subprocess.run(["buildah", *args], capture_output=True, text=True, env=ENV, **kw)
    if check and r.returncode != 0:
        fail(f"buildah {' '.join(args)}: {r.stdout}{r.stderr}")
    return r.stdout.strip()


def cmake_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        return re.search(r"project\(lookout VERSION ([0-9.]+)", f.read()).group(1)


def checkout_revision():
    rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True,
                         text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return rev + "-dirty" if rev != "unknown" and dirty else rev


def check_files(root):
    """Problems with the image's files, and its size in bytes."""
    problems, size = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = "/" + os.path.relpath(path, root)
            st = os.lstat(path)
            if not os.path.islink(path):
                size += st.st_size
                if st.st_uid != 0 or st.st_gid != 0:
                    problems.append(f"{rel} is owned by {st.st_uid}:{st.st_gid}, not root")
                if st.st_mode & 0o022:
                    problems.append(f"{rel} is writable by group or others ({oct(st.st_mode)})")
            if name in SHELLS_AND_PACKAGE_MANAGERS:
                problems.append(f"{rel}: a shell or package manager")
    return problems, size


def daemonset_pod():
    with open(os.path.join(REPO, "deploy", "daemonset.yaml")) as f:
        return yaml.safe_load(f)["spec"]["template"]["spec"]


def compressed_size(image, workdir):
    """Bytes of the image's layers and config as a registry stores them (gzip layers)."""
    out = os.path.join(workdir, "oci")
    buildah("push", "--quiet", image, f"oci:{out}")
    total = 0
    for dirpath, _, filenames in os.walk(os.path.join(out, "blobs")):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in filenames)
    return total


def main():
    if shutil.which("buildah") is None:
        print("SKIP: buildah is not installed (apt-get install buildah mmdebstrap); the image "
              "is not built or run")
        sys.exit(SKIP)
    if os.geteuid() != 0:
        print("SKIP: buildah with vfs storage and chroot isolation needs root here; the image "
              "is not built or run")
        sys.exit(SKIP)
    # The file checks must catch what they look for before their verdict on the image counts.
    with tempfile.TemporaryDirectory() as fake:
        os.makedirs(os.path.join(fake, "bin"))
        for name, mode in (("bin/sh", 0o755), ("data", 0o666)):
            with open(os.path.join(fake, name), "w") as f:
                f.write("x")
            os.chmod(os.path.join(fake, name), mode)
        os.chown(os.path.join(fake, "bin"), 65534, 65534)
        if len(check_files(fake)[0]) != 3:
            fail(f"check_files missed a shell, a writable file or a non-root owner: "
                 f"{check_files(fake)[0]}")
    version, revision = cmake_version(), checkout_revision()
    tag = f"{IMAGE}:{version}"

    started = time.time()
    if os.environ.get("LOOKOUT_IMAGE_TEST_REUSE") and buildah(
            "images", "-q", tag, check=False):
        print(f"LOOKOUT_IMAGE_TEST_REUSE: testing the {tag} already built (development only)")
    else:
        r = subprocess.run([os.path.join(REPO, "scripts", "build-image.sh"), "--builder",
                            "buildah"], cwd=REPO, capture_output=True, text=True, env=ENV)
        if r.returncode != 0:
            fail(f"scripts/build-image.sh failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    build_seconds = time.time() - started

    info = json.loads(buildah("inspect", "--type", "image", tag))
    cfg = info["OCIv1"]["config"]
    want = {"User": "65534:65534", "Entrypoint": ["/usr/bin/lookout"],
            "ExposedPorts": {"9464/tcp": {}, "4317/tcp": {}, "4318/tcp": {}}}
    for key, value in want.items():
        if cfg.get(key) != value:
            fail(f"image config {key} = {cfg.get(key)!r}, want {value!r}")
    labels = cfg.get("Labels", {})
    for key in ("source", "version", "revision", "licenses"):
        if not labels.get(f"org.opencontainers.image.{key}"):
            fail(f"image has no org.opencontainers.image.{key} label: {labels}")
    if labels["org.opencontainers.image.version"] != version:
        fail(f"version label {labels['org.opencontainers.image.version']}, want {version}")
    if labels["org.opencontainers.image.revision"] != revision:
        fail(f"revision label {labels['org.opencontainers.image.revision']}, want {revision}")

    with Harness() as h:
        ctr = buildah("from", "--quiet", "--pull=never", tag)
        try:
            root = buildah("mount", ctr)
            problems, size = check_files(root)
            if problems:
                fail("image files:\n  " + "\n  ".join(problems[:30]))
            if size > MAX_BYTES:
                fail(f"image is {size / 1e6:.1f} MB uncompressed, limit {MAX_BYTES / 1e6:.0f} MB")
            before = {os.path.relpath(os.path.join(d, n), root)
                      for d, ds, fs in os.walk(root) for n in ds + fs}

            out = buildah("run", "--user", "65534:65534", ctr, "--", "/usr/bin/lookout",
                          "--version")
            if f"lookout {version} (revision {revision}," not in out:
                fail(f"lookout --version in the image says {out!r}, want version {version} "
                     f"revision {revision}")

            run_agent(h, ctr, root, before)
            packed = compressed_size(tag, h.tmp.name)
        finally:
            buildah("rm", ctr, check=False)
    print(f"image {tag}: {size / 1e6:.1f} MB uncompressed, {packed / 1e6:.1f} MB compressed, "
          f"built in {build_seconds:.0f} s; no shell or package manager, root-owned, read-only "
          f"to the agent; runs the DaemonSet's arguments as 65534 with no capabilities")


# Linux capabilities (capability.h, 0 to 40). buildah run's --cap-drop all wins over any
# --cap-add, so "drop ALL, add CHOWN" is every one of these dropped but the added.
CAPABILITIES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]


def run_init(ctr, init, sources):
    """The DaemonSet's init container: as root with the capabilities it is given and no other.
    It must fail without them (so they are needed) and leave the state directory to 65534."""
    volumes = [a for m in init["volumeMounts"]
               for a in ("-v", f"{sources[m['mountPath']]}:{m['mountPath']}")]
    sc = init["securityContext"]
    user = f"{sc['runAsUser']}:{sc['runAsGroup']}"
    added = sc["capabilities"]["add"]
    if sc["capabilities"]["drop"] != ["ALL"]:
        fail(f"init container {init['name']} does not drop ALL capabilities")
    run = ["run", "--user", user, *volumes]
    command = [ctr, "--", "/usr/bin/lookout", *init["args"]]
    without = subprocess.run(["buildah", *run, "--cap-drop", "all", *command],
                             capture_output=True, text=True, env=ENV)
    if without.returncode == 0:
        fail(f"the init container succeeded without its capabilities {added}: they are not "
             "needed, or not dropped")
    drops = [a for cap in CAPABILITIES if cap not in added for a in ("--cap-drop", f"CAP_{cap}")]
    buildah(*run, *drops, *command)
    for m in init["volumeMounts"]:
        st = os.stat(sources[m["mountPath"]])
        if (st.st_uid, st.st_gid) != (65534, 65534):
            fail(f"after the init container {m['mountPath']} is {st.st_uid}:{st.st_gid}")


def run_agent(h, ctr, root, before):
    pod = daemonset_pod()
    c = pod["containers"][0]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    # The host paths the DaemonSet mounts, replaced by the fixture trees.
    # A copy of the fixture /sys with the fs/cgroup mount point a host's /sys has.
    sysfs = h.path("sys")
    shutil.copytree(os.path.join(FIXTURES, "node", "sys"), sysfs, symlinks=True)
    os.makedirs(os.path.join(sysfs, "fs", "cgroup"), exist_ok=True)
    sources = {"/host/proc": os.path.join(FIXTURES, "node", "proc"),
               "/host/sys": sysfs,
               "/host/sys/fs/cgroup": os.path.join(PODS, "cgroup"),
               "/host/root": os.path.join(FIXTURES, "node", "root")}
    token = "image-test-token"
    kubelet = TestKubelet(h.tmp.name, os.path.join(PODS, "pods.json"), token)
    try:
        sa = h.path("serviceaccount")
        os.makedirs(sa)
        with open(os.path.join(sa, "token"), "w") as f:
            f.write(token + "\n")
        shutil.copy(kubelet.ca_file, os.path.join(sa, "ca.crt"))
        config_dir = h.path("config")
        os.makedirs(config_dir)
        with open(os.path.join(REPO, "deploy", "lookout.yaml")) as f:
            config = yaml.safe_load(f)
        config["kubernetes"]["kubelet_url"] = kubelet.url
        with open(os.path.join(config_dir, "lookout.yaml"), "w") as f:
            yaml.safe_dump(config, f)
        for d in (sa, config_dir):  # the agent reads them as 65534
            os.chmod(d, 0o755)
            for n in os.listdir(d):
                os.chmod(os.path.join(d, n), 0o644)
        sources["/etc/lookout"] = config_dir
        state = h.path("var-lib-lookout")  # as Kubernetes makes a DirectoryOrCreate hostPath
        os.makedirs(state)
        os.chmod(state, 0o755)
        sources["/var/lib/lookout"] = state
        if set(mounts) != set(sources):
            fail(f"the DaemonSet mounts {sorted(mounts)}; this test mounts {sorted(sources)}")
        # Mount points inside another mount (/host/sys/fs/cgroup) come with the outer one.
        outer = [p for p in mounts if not any(p.startswith(q + "/") for q in mounts)]
        missing = [p for p in outer if not os.path.isdir(os.path.join(root, p.lstrip("/")))]
        if missing:
            fail(f"the image lacks the DaemonSet's mount points {missing} (a read-only root "
                 "cannot create them)")
        for init in pod.get("initContainers", []):
            if init["image"] != c["image"]:
                fail(f"init container {init['name']} runs {init['image']}, not the agent's image")
            run_init(ctr, init, sources)
        volumes = []
        for path, src in sources.items():
            volumes += ["-v", f"{src}:{path}:{'ro' if mounts[path].get('readOnly') else 'rw'}"]
        volumes += ["-v", f"{sa}:/var/run/secrets/kubernetes.io/serviceaccount:ro"]
        env = {"NODE_NAME": "node-a", "HOST_IP": "127.0.0.1"}
        for e in c["env"]:
            if "value" in e:
                env[e["name"]] = e["value"]
        env_args = [a for k, v in env.items() for a in ("--env", f"{k}={v}")]
        port, http_port, grpc_port = free_port(), free_port(), free_port()
        argv = ["buildah", "run", "--network", "host", "--user", "65534:65534", *volumes,
                *env_args, ctr, "--", "/usr/bin/lookout", *c["args"],
                f"--web.listen-address=127.0.0.1:{port}",
                f"--otlp.http.listen-address=127.0.0.1:{http_port}",
                f"--otlp.grpc.listen-address=127.0.0.1:{grpc_port}"]
        log = open(h.path("agent.log"), "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=ENV,
                                start_new_session=True)
        h.procs.append(proc)
        proc.log_path = log.name

        def healthy():
            if proc.poll() is not None:
                fail(f"the agent in the image exited with {proc.returncode}:\n{h.log(proc)[-3000:]}")
            try:
                body = http_get(f"http://127.0.0.1:{port}/metrics")[2].decode()
            except OSError:
                return None
            ok = ('container_memory_working_set_bytes{' in body and 'node_load1 ' in body
                  and 'lookout_collector_success{collector="containers"} 1' in body)
            return body if ok else None

        body = wait_for("the agent in the image to serve node and pod series", healthy, timeout=60)
        samples, _ = parse_text(body)
        zones = [dict(ls) for (n, ls) in samples if n == "node_time_zone_offset_seconds"]
        if not zones or zones[0].get("time_zone") not in ("CET", "CEST"):
            fail(f"node_time_zone_offset_seconds {zones}: the fixture host's zone is "
                 "Europe/Berlin (its /etc/localtime), read through the image's zoneinfo")
        failing = [dict(ls)["collector"] for (n, ls), v in samples.items()
                   if n == "lookout_collector_success" and v != 1]
        if failing:
            fail(f"collectors failing in the image: {failing}\n{h.log(proc)[-3000:]}")
        pid = agent_pid(port)
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        uids = status["Uid"].split()
        if set(uids) != {"65534"}:
            fail(f"the agent runs as uids {uids}, want 65534")
        if int(status["CapEff"], 16) or int(status["CapPrm"], 16):
            fail(f"the agent holds capabilities: CapEff {status['CapEff'].strip()}")
        # As the kubelet stops a container: SIGTERM to the agent, which saves its SLO state.
        os.kill(int(pid), 15)
        wait_for("the agent to exit on SIGTERM", lambda: not os.path.exists(f"/proc/{pid}"),
                 timeout=30)
    finally:
        kubelet.stop()
    for p in h.procs:
        if p.poll() is None:
            os.killpg(p.pid, 15)
            p.wait(timeout=20)
    saved = os.path.join(state, "slo", "slo-state")
    if not os.path.isfile(saved) or os.stat(saved).st_uid != 65534:
        fail(f"no SLO state saved by 65534 in the state hostPath at shutdown: "
             f"{os.listdir(state)}")
    # buildah creates its own mount points for a run (/proc, /sys, /dev, resolv.conf, ...);
    # anything else new was written by the agent.
    after = {os.path.relpath(os.path.join(d, n), root)
             for d, ds, fs in os.walk(root) for n in ds + fs}
    runtime = re.compile(r"^(proc|sys|dev|run|tmp|etc/(hosts|resolv\.conf|hostname)|"
                         r"var/run(/secrets(/kubernetes\.io(/serviceaccount)?)?)?)(/|$)")
    written = sorted(p for p in after - before if not runtime.match(p))
    if written:
        fail(f"the agent wrote to the image's root filesystem: {written[:20]}")


def agent_pid(port):
    """The pid of the process listening on 127.0.0.1:port."""
    want = f"0100007F:{port:04X}"
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    fail(f"no process listens on 127.0.0.1:{port}")


if __name__ == "__main__":
    main()
