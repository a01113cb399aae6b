"""Recipes that work as written: a logrotate block that enqueues each rotated file, a
systemd unit for ``datalake upload``, a cron line for ``upload --once``
(``datalake recipe NAME``; docs/shipping.md shows the same text, and a test runs the
logrotate one with Debian's real logrotate)."""
from __future__ import annotations

import shlex
import string

LOGROTATE = string.Template("""\
# /etc/logrotate.d/$name: rotate $path and enqueue each rotated file for the lake.
# With delaycompress, the file compressed at this rotation ($path.2.gz) is one no
# writer has open any more (a daemon may write to $path.1 until it reopens its log),
# so that is the one enqueued: whole, and read for its times with --format.
$path {
    daily
    rotate 14
    missingok
    notifempty
    compress
    delaycompress
    postrotate
        $reopen
        if [ -e $path.2.gz ]; then
            $datalake enqueue $path.2.gz --what $what --where $where --data-version $data_version --format $format
        fi
    endscript
}
""")

SYSTEMD = string.Template("""\
# /etc/systemd/system/datalake-upload.service: push what the spool holds, through
# outages and reboots.  systemctl daemon-reload && systemctl enable --now datalake-upload
[Unit]
Description=datalake upload: push spooled log files to the lake
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=$datalake upload --log-format json
Restart=always
RestartSec=5
# SIGTERM: pushes in flight get --grace (20 s) to finish, then it exits 0; the rest stay
# in the spool for the next start.
TimeoutStopSec=40
Environment=DATALAKE_STORAGE_URL=$url
Environment=DATALAKE_SPOOL_DIR=$spool
# the spool must be the one logrotate enqueues into: run both as the same user, or
# point both at the same DATALAKE_SPOOL_DIR

[Install]
WantedBy=multi-user.target
""")

CRON = string.Template("""\
# /etc/cron.d/datalake-upload: push what the spool holds every 10 minutes; exit status 1
# (so cron mails it) when a file stayed queued.
*/10 * * * * root DATALAKE_STORAGE_URL=$url DATALAKE_SPOOL_DIR=$spool $datalake upload --once
""")

RECIPES = {"logrotate": LOGROTATE, "systemd": SYSTEMD, "cron": CRON}
DEFAULTS = {"path": "/var/log/app/app.log", "what": "app", "where": "$(hostname -s)",
            "data_version": "1", "format": "auto", "url": "s3://my-bucket/logs",
            "spool": "/var/spool/datalake", "datalake": "/usr/local/bin/datalake",
            "reopen": "# tell the writer to reopen its log here (e.g. nginx: kill -USR1 ...)"}


RAW = ("reopen", "datalake")  # shell text: a command line, not one word


def recipe(name: str, **values: str | None) -> str:
    """The recipe ``name`` with ``values`` (path, what, where, data_version, format, url,
    spool, datalake) filled in; those not given keep their example values."""
    given = {k: v for k, v in values.items() if v is not None}
    filled = {**DEFAULTS, **{k: v if k in RAW else shlex.quote(v) for k, v in given.items()}}
    filled["name"] = filled["what"]
    return RECIPES[name].substitute(filled)
