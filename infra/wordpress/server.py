"""A real WordPress for the e2e tests: Debian's packages, MariaDB and PHP's built-in server.

    from infra.wordpress import server
    if not (result := server.ensure_installed()):
        print("cannot run WordPress here:", result.reason)
    with server.start() as wp:            # a fresh, installed site in about 2 seconds
        wp.url, wp.username, wp.app_password
        wp.php("echo get_option('blogname');")

Each ``start()`` is independent: its own MariaDB server (own port, own data directory
copied from a template made once with mariadb-install-db), its own config, its own
uploads folder, and its own PHP server. ``stop()`` removes all of it.

How the pieces fit Debian's layout:

- Debian's ``/usr/share/wordpress/wp-config.php`` loads ``/etc/wordpress/config-<Host
  header without port>.php``, so every local instance is ``config-127.0.0.1.php``. That
  file is written here as a small dispatcher that loads the instance's own config, named by
  the ``SEO_ENGINE_WP_CONFIG`` environment variable of the PHP process (server or CLI), so
  several instances (parallel test sessions) can run at once.
- ``WP_CONTENT_DIR`` is ``/var/lib/wordpress/wp-content`` (plugins, themes); the companion
  plugin is symlinked into its plugins folder; uploads go to a per-instance folder.
- ``WP_ENVIRONMENT_TYPE`` is ``local``: it lets Application Passwords work over plain http.
- The router (``router.php``) serves ``/wp-content/*`` from ``/var/lib/wordpress`` and sends
  unknown paths to ``index.php`` (pretty permalinks).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from infra.local.processes import Child, free_port, spawn, wait_for_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".cache" / "wordpress"
PLUGIN_SOURCE = ROOT / "wordpress-plugin" / "seo-engine-companion"
TEST_PLUGINS = HERE / "plugins"
WP_ROOT = Path("/usr/share/wordpress")
WP_CONTENT = Path("/var/lib/wordpress/wp-content")
ETC = Path("/etc/wordpress")
DISPATCHER = ETC / "config-127.0.0.1.php"
PACKAGES = ("wordpress", "mariadb-server", "php-cli", "php-mysql", "php-curl", "php-xml")
PLUGIN_FILE = "seo-engine-companion/seo-engine-companion.php"
ADMIN_USER = "admin"
OPCACHE = CACHE / "opcache"


def _php_flags() -> list[str]:
    """OPcache with a file cache shared by all instances: WordPress compiles once per machine,
    not once per PHP process (it saves most of a second per cold process)."""
    OPCACHE.mkdir(parents=True, exist_ok=True)
    return ["-d", "opcache.enable=1", "-d", "opcache.enable_cli=1", "-d", f"opcache.file_cache={OPCACHE}",
            "-d", "opcache.validate_timestamps=1", "-d", "opcache.revalidate_freq=0"]


class WordPressUnavailable(RuntimeError):
    """WordPress cannot run on this machine (packages missing and not installable)."""


class WordPressStartError(RuntimeError):
    """The packages are there but an instance did not come up; the message has the logs."""


@dataclass(frozen=True)
class InstallResult:
    ok: bool
    reason: str = ""
    installed_now: bool = False

    def __bool__(self) -> bool:
        return self.ok


# --- packages ---------------------------------------------------------------------------

def _missing() -> list[str]:
    """What is missing to run an instance (empty when everything is there)."""
    missing = []
    if not (WP_ROOT / "wp-settings.php").is_file() or not (WP_ROOT / "wp-config.php").is_file():
        missing.append("wordpress")
    if not shutil.which("mariadbd", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")):
        missing.append("mariadb-server (mariadbd)")
    if not (shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")):
        missing.append("mariadb-server (mariadb-install-db)")
    if not shutil.which("mariadb") and not shutil.which("mysql"):
        missing.append("mariadb-client")
    php = shutil.which("php")
    if not php:
        missing.append("php-cli")
    else:
        modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout.lower().split()
        missing += [f"php-{m}" for m in ("mysqli", "curl", "xml") if m not in modules]
    return missing


def ensure_installed(*, timeout: float = 900) -> InstallResult:
    """Install the Debian packages if they are missing (idempotent).

    Returns a falsy :class:`InstallResult` with the reason when it cannot: not root, no
    apt-get, or apt-get failing even after ``apt-get update``.
    """
    missing = _missing()
    if not missing:
        return InstallResult(True)
    if os.geteuid() != 0:
        return InstallResult(False, f"missing {', '.join(missing)} and not root (cannot apt-get install)")
    apt = shutil.which("apt-get")
    if not apt:
        return InstallResult(False, f"missing {', '.join(missing)} and there is no apt-get")
    CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = CACHE / "apt.log"
    with _locked(CACHE / "install.lock"), open(log, "ab") as out:
        if not _missing():  # another process installed them while we waited
            return InstallResult(True)
        install = [apt, "install", "-y", *PACKAGES]
        try:
            done = subprocess.run(install, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
            if done.returncode != 0:
                subprocess.run([apt, "update"], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                               check=False)
                done = subprocess.run(install, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                                      check=False)
        except subprocess.TimeoutExpired:
            return InstallResult(False, f"apt-get did not finish in {timeout:.0f}s (log: {log})")
    still = _missing()
    if done.returncode != 0 or still:
        return InstallResult(False, f"apt-get install failed (exit {done.returncode}); missing {', '.join(still)} "
                                    f"(log: {log})")
    return InstallResult(True, installed_now=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the running instance ---------------------------------------------------------------

@dataclass
class WordPressServer:
    """One running WordPress. ``url`` has no trailing slash."""

    url: str
    port: int
    db_port: int
    username: str
    password: str  # the admin's login password (wp-login.php)
    app_password: str  # an Application Password of the admin (REST basic auth)
    user_id: int
    instance_dir: Path
    config_path: Path
    uploads_dir: Path
    _children: list[Child] = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def __repr__(self) -> str:
        return f"WordPressServer(url={self.url!r}, username={self.username!r}, app_password='***')"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/wp-json/"

    def php_env(self, user_id: int | None = None) -> dict[str, str]:
        env = {**os.environ, "SEO_ENGINE_WP_CONFIG": str(self.config_path), "SEO_ENGINE_WP_URL": self.url}
        env.pop("SEO_ENGINE_WP_USER", None)
        if user_id:
            env["SEO_ENGINE_WP_USER"] = str(user_id)
        return env

    def php(self, code: str, *, user_id: int | None = None, timeout: float = 60, env: dict[str, str] | None = None
            ) -> str:
        """Run PHP ``code`` (no ``<?php`` tag needed) inside this WordPress; return its stdout.

        WordPress is loaded (wp-load.php) and, with ``user_id``, that user is logged in.
        Raises RuntimeError with stderr when PHP exits non-zero.
        """
        body = code.strip()
        if body.startswith("<?php"):
            body = body[len("<?php"):]
        with tempfile.NamedTemporaryFile("w", suffix=".php", dir=self.instance_dir, delete=False) as handle:
            handle.write(f"<?php\nrequire {json.dumps(str(HERE / 'bootstrap.php'))};\n{body}\n")
            script = handle.name
        try:
            done = subprocess.run(["php", *_php_flags(), "-d", "display_errors=stderr", script], capture_output=True,
                                  text=True, timeout=timeout, env={**self.php_env(user_id), **(env or {})}, check=False)
        finally:
            os.unlink(script)
        if done.returncode != 0:
            raise RuntimeError(f"PHP exited {done.returncode}: {done.stderr.strip()[-2000:]}\n{done.stdout[-1000:]}")
        return done.stdout

    def php_json(self, code: str, **kw: Any) -> Any:
        """Run ``code`` that echoes one JSON document; return it parsed."""
        return json.loads(self.php(code, **kw).strip().splitlines()[-1])

    def activate_plugin(self, name: str) -> None:
        """Activate a plugin by its basename (``dir/file.php`` or ``file.php``)."""
        self.php(f"$r = activate_plugin({json.dumps(name)}); if (is_wp_error($r)) {{ fwrite(STDERR, "
                 f"$r->get_error_message()); exit(1); }}")

    def deactivate_plugin(self, name: str) -> None:
        self.php(f"deactivate_plugins({json.dumps(name)});")

    def log_tail(self, lines: int = 60) -> str:
        out = []
        for name in ("php.log", "mariadb.err", "debug.log"):
            path = self.instance_dir / name
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)

    def stop(self) -> None:
        """Stop PHP and MariaDB and delete the instance (database, config, uploads)."""
        if self._stopped:
            return
        self._stopped = True
        for child in reversed(self._children):
            child.stop(timeout=10)
        shutil.rmtree(self.instance_dir, ignore_errors=True)
        shutil.rmtree(self.uploads_dir, ignore_errors=True)

    def __enter__(self) -> WordPressServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- starting ---------------------------------------------------------------------------

def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", ""))
        if found:
            return found
    raise WordPressUnavailable(f"none of {', '.join(names)} is installed")


def _db_user() -> str | None:
    """The OS user MariaDB runs as: ``mysql`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("mysql")
    except KeyError:
        return "root"
    return "mysql"


_DB_FLAGS = (
    "--skip-name-resolve", "--skip-log-bin", "--performance-schema=OFF", "--innodb-buffer-pool-size=32M",
    # A throwaway database: durability traded for start-up and install speed.
    "--innodb-log-file-size=8M", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
    "--innodb-flush-method=nosync", "--innodb-file-per-table=0",
    "--skip-innodb-adaptive-hash-index", "--max-connections=50", "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
)


def _template_datadir() -> Path:
    """An empty initialised data directory, made once (mariadb-install-db takes seconds)."""
    version = subprocess.run([_tool("mariadbd"), "--version"], capture_output=True, text=True,
                             check=False).stdout.split()
    tag = next((part for part in version if part[:1].isdigit()), "unknown").replace("/", "_")
    template = CACHE / f"mariadb-template-{tag}"
    if (template / "mysql").is_dir():
        return template
    with _locked(CACHE / "template.lock"):
        if (template / "mysql").is_dir():
            return template
        building = CACHE / f"mariadb-template-{tag}.building"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        user = _db_user()
        if user and user != "root":
            shutil.chown(building, user, user)
        argv = [_tool("mariadb-install-db", "mysql_install_db"), "--no-defaults", f"--datadir={building}",
                "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
                "--innodb-log-file-size=8M", "--skip-log-bin"]
        if user:
            argv.append(f"--user={user}")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise WordPressStartError(f"mariadb-install-db failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")
        building.rename(template)
    return template


def _sweep_stale_instances() -> None:
    """Remove instances whose owning process died without stopping them."""
    instances = CACHE / "instances"
    if not instances.is_dir():
        return
    for entry in instances.iterdir():
        owner = entry / "owner.pid"
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            if time.time() - entry.stat().st_mtime < 600:
                continue  # being created right now
            pid = -1
        if pid > 0 and _alive(pid):
            continue
        for pidfile in (entry / "mariadb.pid", entry / "php.pid"):
            with contextlib.suppress(OSError, ValueError, ProcessLookupError, PermissionError):
                os.killpg(int(pidfile.read_text().strip()), signal.SIGKILL)
        uploads = entry / "uploads-dir"
        with contextlib.suppress(OSError):
            shutil.rmtree(Path(uploads.read_text().strip()), ignore_errors=True)
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.replace(path)


_DISPATCHER_PHP = """<?php
// Written by infra/wordpress/server.py (the SEO Engine's e2e WordPress). Each local instance
// has its own config file, named by the SEO_ENGINE_WP_CONFIG environment variable of its PHP
// process, so several instances can run at once behind the same Host (127.0.0.1).
$seo_engine_config = getenv('SEO_ENGINE_WP_CONFIG');
if (!$seo_engine_config || !str_ends_with($seo_engine_config, '/wp-config.php') || !is_file($seo_engine_config)) {
    header('HTTP/1.0 500 Internal Server Error');
    echo 'No SEO_ENGINE_WP_CONFIG for this WordPress process (see infra/wordpress/server.py).';
    exit(1);
}
require $seo_engine_config;
"""


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _instance_config(*, db_port: int, db_password: str, url: str, debug_log: Path) -> str:
    salts = "\n".join(
        f"define({_php_string(name)}, {_php_string(secrets.token_urlsafe(48))});"
        for name in ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT",
                     "LOGGED_IN_SALT", "NONCE_SALT")
    )
    return f"""<?php
// One e2e WordPress instance (infra/wordpress/server.py); deleted when it stops.
define('DB_NAME', 'wordpress');
define('DB_USER', 'wp');
define('DB_PASSWORD', {_php_string(db_password)});
define('DB_HOST', '127.0.0.1:{db_port}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
{salts}
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_HOME', {_php_string(url)});
define('WP_SITEURL', {_php_string(url)});
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_ACCESSIBLE_HOSTS', '127.0.0.1,localhost');
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', {_php_string(str(debug_log))});
@ini_set('display_errors', '0');
$table_prefix = 'wp_';
"""


def _symlink(target: Path, link: Path) -> None:
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(target)
    tmp.replace(link)


def _link_plugins() -> None:
    plugins = WP_CONTENT / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    _symlink(PLUGIN_SOURCE, plugins / PLUGIN_SOURCE.name)
    for stub in TEST_PLUGINS.glob("*.php"):
        _symlink(stub, plugins / stub.name)


def start(port: int | None = None, *, timeout: float = 60, admin_password: str | None = None) -> WordPressServer:
    """Start a fresh, installed WordPress on ``127.0.0.1:port`` (a free port by default).

    Installed means: install.php done, pretty permalinks, the companion plugin active, an
    Application Password for the admin. Raises WordPressUnavailable if the packages are
    missing, WordPressStartError (with logs) if something fails on the way.
    """
    if _missing():
        raise WordPressUnavailable(f"missing: {', '.join(_missing())}; call ensure_installed() first")
    if os.geteuid() != 0 and not os.access(ETC, os.W_OK):
        raise WordPressUnavailable(f"{ETC} is not writable: run as root")
    CACHE.mkdir(parents=True, exist_ok=True)
    _sweep_stale_instances()
    template = _template_datadir()
    port = port or free_port()
    db_port = free_port()
    url = f"http://127.0.0.1:{port}"
    instance = _mkdir_instance(port)
    (instance / "owner.pid").write_text(str(os.getpid()))
    uploads = WP_CONTENT / "uploads" / "seo-engine-e2e" / instance.name
    (instance / "uploads-dir").write_text(str(uploads))
    server = WordPressServer(
        url=url, port=port, db_port=db_port, username=ADMIN_USER, password=admin_password or secrets.token_urlsafe(16),
        app_password="", user_id=0, instance_dir=instance, config_path=instance / "wp-config.php", uploads_dir=uploads,
    )
    try:
        _start_database(server, template, timeout)
        _write_configs(server)
        _start_php(server, timeout)
        _install(server, timeout)
        return server
    except Exception as exc:
        logs = server.log_tail()
        server.stop()
        raise WordPressStartError(f"WordPress did not start: {exc}\n{logs}") from exc
    except BaseException:
        server.stop()
        raise


def _mkdir_instance(port: int) -> Path:
    (CACHE / "instances").mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{port}-", dir=CACHE / "instances"))


def _start_database(server: WordPressServer, template: Path, timeout: float) -> None:
    instance = server.instance_dir
    datadir = instance / "data"
    # cp -a keeps the owner (mysql) of the template's files; a fresh copy = a fresh database.
    subprocess.run(["cp", "-a", str(template), str(datadir)], check=True, capture_output=True)
    user = _db_user()
    if user and user != "root":
        shutil.chown(instance, user, user)
        instance.chmod(0o755)
    socket_path = instance / "mariadb.sock"
    argv = [_tool("mariadbd"), "--no-defaults", f"--datadir={datadir}", f"--socket={socket_path}",
            f"--port={server.db_port}", "--bind-address=127.0.0.1", f"--pid-file={instance / 'mariadb.pidfile'}",
            f"--log-error={instance / 'mariadb.err'}", f"--tmpdir={instance}", *_DB_FLAGS]
    if user:
        argv.insert(2, f"--user={user}")
    child = spawn("mariadbd", argv, log_path=instance / "mariadb.out")
    server._children.append(child)
    (instance / "mariadb.pid").write_text(str(child.pid))
    wait_for_port(server.db_port, timeout=timeout, alive=child.alive)
    db_password = secrets.token_urlsafe(18)
    sql = (
        "CREATE DATABASE wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"
        f"CREATE USER 'wp'@'127.0.0.1' IDENTIFIED BY '{db_password}';\n"
        f"CREATE USER 'wp'@'localhost' IDENTIFIED BY '{db_password}';\n"
        "GRANT ALL PRIVILEGES ON wordpress.* TO 'wp'@'127.0.0.1';\n"
        "GRANT ALL PRIVILEGES ON wordpress.* TO 'wp'@'localhost';\n"
    )
    client = _tool("mariadb", "mysql")
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run([client, "--no-defaults", "-uroot", f"--socket={socket_path}"], input=sql, text=True,
                              capture_output=True, check=False)
        if done.returncode == 0:
            break
        if time.monotonic() > deadline or not child.alive():
            raise WordPressStartError(f"creating the database failed: {done.stderr.strip()}")
        time.sleep(0.1)
    (instance / "db-password").write_text(db_password)


def _write_configs(server: WordPressServer) -> None:
    db_password = (server.instance_dir / "db-password").read_text()
    server.config_path.write_text(_instance_config(db_port=server.db_port, db_password=db_password, url=server.url,
                                                   debug_log=server.instance_dir / "debug.log"))
    _write_if_changed(DISPATCHER, _DISPATCHER_PHP)
    _link_plugins()
    server.uploads_dir.mkdir(parents=True, exist_ok=True)


def _start_php(server: WordPressServer, timeout: float) -> None:
    env = {**server.php_env(), "PHP_CLI_SERVER_WORKERS": "4"}
    argv = ["php", *_php_flags(), "-d", "upload_max_filesize=64M", "-d", "post_max_size=64M", "-d", "memory_limit=256M",
            "-d", "display_errors=0", "-d", "log_errors=1", "-S", f"127.0.0.1:{server.port}", "-t", str(WP_ROOT),
            str(HERE / "router.php")]
    child = spawn("php", argv, env=env, cwd=WP_ROOT, log_path=server.instance_dir / "php.log")
    server._children.append(child)
    (server.instance_dir / "php.pid").write_text(str(child.pid))
    wait_for_port(server.port, timeout=timeout, alive=child.alive)


def _install(server: WordPressServer, timeout: float) -> None:
    form = {
        "weblog_title": "SEO Engine e2e", "user_name": server.username, "admin_password": server.password,
        "admin_password2": server.password, "pw_weak": "1", "admin_email": "admin@example.com", "blog_public": "0",
        "language": "",
    }
    response = requests.post(f"{server.url}/wp-admin/install.php?step=2", data=form, timeout=timeout)
    if "Success!" not in response.text:
        raise WordPressStartError(f"install.php answered {response.status_code} without 'Success!': "
                                  f"{response.text[-1500:]}")
    setup = (HERE / "setup.php").read_text()
    result = server.php_json(setup, env={
        "SEO_ENGINE_WP_UPLOADS": str(server.uploads_dir),
        "SEO_ENGINE_WP_UPLOADS_URL": f"{server.url}/wp-content/uploads/seo-engine-e2e/{server.instance_dir.name}",
        "SEO_ENGINE_WP_ADMIN": server.username,
    })
    server.app_password = result["app_password"]
    server.user_id = int(result["user_id"])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m infra.wordpress.server``: start one instance and keep it until Ctrl-C."""
    result = ensure_installed()
    if not result:
        print(f"WordPress cannot run here: {result.reason}")
        return 1
    started = time.monotonic()
    wp = start()
    print(f"WordPress at {wp.url} (admin: {wp.username} / {wp.password}; application password: {wp.app_password}) "
          f"started in {time.monotonic() - started:.1f}s; Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        wp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
