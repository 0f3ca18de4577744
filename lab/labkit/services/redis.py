"""A real Redis server (Debian's redis-server) on loopback, with a password."""
import shutil
import subprocess

from labkit.config import HOST
from labkit.errors import LabError
from labkit.process import ensure_port_free, port_open, start_and_wait, stop_pid
from labkit.services.base import Service


def _redis_binary():
    found = shutil.which("redis-server")
    if not found:
        raise LabError("redis-server not found; install Debian's 'redis-server' package (make deps does)")
    return found


class RedisService(Service):
    name = "redis"

    @property
    def password(self):
        return self.config.secret("redis_password")

    def start(self):
        if self.is_running():
            return
        port = self.config.port(self.name)
        ensure_port_free(port, self.name)
        conf = self.dir / "redis.conf"
        conf.write_text(
            f"bind {HOST}\nport {port}\nprotected-mode yes\ndaemonize no\n"
            f"dir {self.dir}\nsave \"\"\nappendonly no\nrequirepass {self.password}\n"
        )
        conf.chmod(0o600)
        start_and_wait([_redis_binary(), str(conf)], self.pidfile, self.logfile, self._ping, "redis-server")

    def _ping(self):
        try:
            import redis

            return redis.Redis(host=HOST, port=self.config.port(self.name), password=self.password,
                               socket_timeout=1).ping()
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False

    def stop(self):
        stop_pid(self.pidfile)

    def health(self):
        port = self.config.port(self.name)
        if not port_open(port):
            return False, f"nothing listens on {HOST}:{port}"
        if not self._ping():
            return False, f"{HOST}:{port} does not answer PING"
        res = subprocess.run([_redis_binary(), "--version"], capture_output=True, text=True, check=False)
        version = res.stdout.split()
        ver = next((w.split("=")[1] for w in version if w.startswith("v=")), "?")
        return True, f"Redis {ver} on {HOST}:{port}"

    def env(self):
        port = self.config.port(self.name)
        return {
            "REDIS_HOST": HOST,
            "REDIS_PORT": str(port),
            "REDIS_PASSWORD": self.password,
            "REDIS_URL": f"redis://:{self.password}@{HOST}:{port}/0",
        }
