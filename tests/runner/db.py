# SPDX-License-Identifier: ISC
"""The stack's PostgreSQL: queries through long-lived psql sessions, the `db` check, and koogate's
sealed columns opened for `unseal`."""

import json
import os
import secrets
import select
import subprocess
import threading
import time

from .base import FixtureError
from .match import is_operator, match

def sql_norm(v):
    if v is True:
        return "t"
    if v is False:
        return "f"
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    return v


class _PsqlSession:
    """One long-lived psql per database (starting psql costs far more than a query): each call sends the
    SQL, then `\\echo` and `\\warn` markers, and reads both streams up to them. ON_ERROR_STOP makes psql
    exit at the first error, like `psql -c` would; the session is then started anew on the next call."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.lock = threading.Lock()
        self.n = 0

    def _start(self):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-F", "\x1f", "-R", "\x1e", "-v", "ON_ERROR_STOP=1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        self.bufs = {self.proc.stdout.fileno(): b"", self.proc.stderr.fileno(): b""}

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _read_until(self, fd, marker, deadline):
        """Bytes before the marker line, or (bytes so far, False) at EOF."""
        while True:
            i = self.bufs[fd].find(marker)
            if i >= 0:
                out, self.bufs[fd] = self.bufs[fd][:i], self.bufs[fd][i + len(marker):]
                return out, True
            left = deadline - time.monotonic()
            if left <= 0:
                raise FixtureError("psql did not answer within 30 s")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    out, self.bufs[fd] = self.bufs[fd], b""
                    return out, False
                self.bufs[fd] += chunk

    def query(self, sql):
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            self.n += 1
            marker = ("--koogate-runner-%d-%s--" % (self.n, secrets.token_hex(4))).encode()
            try:
                self.proc.stdin.write(sql.encode("utf-8") + b"\n;\n\\echo " + marker + b"\n\\warn " + marker + b"\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            deadline = time.monotonic() + 30
            try:
                out, ok = self._read_until(self.proc.stdout.fileno(), marker + b"\n", deadline)
                err, _ = self._read_until(self.proc.stderr.fileno(), marker + b"\n", deadline) if ok else \
                    (self._read_until(self.proc.stderr.fileno(), b"\0never\0", time.monotonic() + 5)[0], False)
            except FixtureError:
                self.close()
                raise
            if not ok:      # notices on stderr are not errors; an error ends psql (ON_ERROR_STOP)
                self.close()
                raise FixtureError("psql failed for %r: %s" % (sql, err.decode(errors="replace").strip() or "psql exited"))
            return out.decode("utf-8")


_PSQL_SESSIONS = {}
_PSQL_LOCK = threading.Lock()


def _close_psql_sessions():
    for sess in _PSQL_SESSIONS.values():
        sess.close()


def psql(ctx, sql):
    """Rows of the SQL (the last statement's), each a list of text cells ("" for NULL)."""
    env = dict(os.environ)
    env.update(ctx.pg_env)
    key = tuple(sorted(ctx.pg_env.items()))
    with _PSQL_LOCK:
        if not _PSQL_SESSIONS:
            import atexit
            atexit.register(_close_psql_sessions)
        sess = _PSQL_SESSIONS.setdefault(key, _PsqlSession(env))
    out = sess.query(sql)
    if out.endswith("\n"):
        out = out[:-1]
    if out == "":
        return []
    return [r.split("\x1f") for r in out.split("\x1e")]


def check_db(ctx, checks):
    errs = []
    for chk in checks:
        sql = chk["sql"]
        deadline = time.monotonic() + float(chk.get("wait_s", 0))
        while True:
            rows = psql(ctx, sql)
            for col in chk.get("unseal", []):   # sealed bytea columns (hex) -> plaintext, see unseal
                rows = [[unseal(ctx, c) if j == col else c for j, c in enumerate(r)] for r in rows]
            e = []
            if "rows" in chk:
                want = chk["rows"]
                if isinstance(want, int) and not isinstance(want, bool):
                    if len(rows) != want:
                        e.append("%d rows, expected %d" % (len(rows), want))
                else:
                    want = [[sql_norm(c) for c in r] if isinstance(r, list) else [sql_norm(r)] for r in want]
                    got = rows
                    e.extend(match(want, got, "rows"))
            if "value" in chk:
                got = rows[0][0] if rows and rows[0] else None
                e.extend(match(sql_norm(chk["value"]) if not is_operator(chk["value"]) else chk["value"], got, "value"))
            if not e or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if e:
            errs.append("db %r -> %s: %s" % (sql, json.dumps(rows, ensure_ascii=False)[:300], "; ".join(e)))
    return errs


def unseal(ctx, cell):
    """koogate's sealed bytea (hex, as psql prints it): 12-byte nonce || AES-256-GCM ciphertext || 16-byte
    tag, master_key from koogate.conf. GCM encrypts with CTR from counter block nonce || 00000002, so
    `openssl enc -aes-256-ctr` recovers the plaintext (the tag is not checked here)."""
    if cell in (None, ""):
        return cell
    h = cell[2:] if cell.startswith("\\x") else cell
    try:
        data = bytes.fromhex(h)
        key = bytes.fromhex(ctx.config.get("master_key", ""))
    except ValueError:
        return "<not hex: %s>" % cell[:40]
    if len(data) < 28 or len(key) != 32:
        return "<cannot unseal %d bytes>" % len(data)
    p = subprocess.run(["openssl", "enc", "-d", "-aes-256-ctr", "-K", key.hex(), "-iv", (data[:12] + b"\0\0\0\2").hex(),
                        "-nosalt"], input=data[12:-16], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return "<openssl: %s>" % p.stderr.decode(errors="replace").strip()
    return p.stdout.decode("utf-8", "replace")
