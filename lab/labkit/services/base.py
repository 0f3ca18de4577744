"""The contract every lab service follows."""
from labkit.process import pid_alive, read_pid


class Service:
    name = ""

    def __init__(self, config):
        self.config = config

    @property
    def dir(self):
        return self.config.service_dir(self.name)

    @property
    def pidfile(self):
        return self.dir / "pid"

    @property
    def logfile(self):
        return self.dir / "log"

    def ports(self):
        return [self.config.port(self.name)]

    def is_running(self):
        return pid_alive(read_pid(self.pidfile))

    def start(self):
        """Start the service; return only once it answers. Raise LabError otherwise."""
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def health(self):
        """Return (healthy, one-line detail)."""
        raise NotImplementedError

    def env(self):
        """Connection values for `labctl env`, as a dict of variable → value."""
        return {}
