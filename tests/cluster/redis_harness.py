"""A real redis-server (Debian's package) for the cluster tests.

Started on a free loopback port with its own temp folder, probed with PING
through Debian's redis-cli until it answers, stopped by PID (SIGTERM, then
SIGKILL), and started again on the same port and folder to play a Redis
restart: with `appendonly=True` it comes back with its data (the AOF is
written at shutdown), without it comes back empty. Every wait has a deadline.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "gateway"))

from node_harness import free_port, wait_until  # noqa: E402

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
READY_DEADLINE = 20.0
STOP_DEADLINE = 20.0


class RedisServer:
    """One redis-server process; `port` and `dir` stay the same across restarts."""

    def __init__(self, appendonly=False, password=None, port=None):
        if not Path(REDIS_SERVER).is_file():
            raise RuntimeError("redis-server is not installed; run tools/install_deps.sh (Debian's redis-server)")
        self.appendonly = appendonly
        self.password = password
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="eventnode-redis-"))
        self.process = None
        self.starts = 0
        self._log = None

    @property
    def url(self):
        """redis://127.0.0.1:P, without the password (give it with `url_with`)."""
        return f"redis://127.0.0.1:{self.port}"

    def url_with(self, password):
        return f"redis://:{password}@127.0.0.1:{self.port}"

    def log_path(self, start=None):
        return self.dir / f"redis-{start or self.starts}.log"

    def start(self):
        """Starts (or starts again) on the same port and folder; returns once PING answers PONG."""
        if self.running():
            raise AssertionError(f"redis-server on {self.port} is already running")
        self.starts += 1
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--save", "", "--appendonly", "yes" if self.appendonly else "no",
                "--daemonize", "no", "--protected-mode", "no", "--logfile", ""]
        if self.password:
            argv += ["--requirepass", self.password]
        self._log = open(self.log_path(), "wb")
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def pong():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"redis-server exited with {self.process.returncode} during start-up:\n{self.log()}")
            return self.ping()

        try:
            wait_until(pong, READY_DEADLINE, interval=0.05, what=f"redis-server on {self.port} to answer PING")
        except AssertionError:
            self.kill()
            raise
        return self

    def running(self):
        return self.process is not None and self.process.poll() is None

    def ping(self):
        try:
            return self.cli("PING", timeout=5).strip() == "PONG"
        except (AssertionError, subprocess.TimeoutExpired):
            return False

    def cli(self, *args, timeout=10):
        """One redis-cli command against this server (with its password); returns its stdout."""
        argv = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), "--no-auth-warning"]
        if self.password:
            argv += ["-a", self.password]
        done = subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"redis-cli {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def keys(self, pattern="eventnode*"):
        """Every key matching `pattern` (SCAN, as an operator would list them)."""
        return sorted(line for line in self.cli("--scan", "--pattern", pattern).splitlines() if line)

    def stop(self):
        """SIGTERM by PID (Redis writes its AOF and exits), SIGKILL after STOP_DEADLINE; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_DEADLINE)
        if self._log is not None:
            self._log.close()
        return self.process.returncode

    def kill(self):
        """SIGKILL by PID."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE)
        if self._log is not None:
            self._log.close()

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        paths = [self.log_path(i) for i in range(1, max(self.starts, 1) + 1)]
        return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
