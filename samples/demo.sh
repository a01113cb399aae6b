#!/usr/bin/env bash
# The main job on a local lake: archive the sample logs, list them, fetch them.
# Run from the repository root after `pip install .`; needs no AWS and no configuration.
# The demo works in a lake of its own, a folder beside the embedded default lake, so the
# example notebooks (each in its own lake too) never list the demo's files twice.
set -euo pipefail
export DATALAKE_STORAGE_URL="${XDG_DATA_HOME:-$HOME/.local/share}/datalake_nb/lake-demo"
cd "$(dirname "$0")"

datalake config | grep DATALAKE_STORAGE_URL   # where the demo's lake lives

for file in logs/*_nginx_*.log; do
    name=$(basename "$file" .log)              # web01_nginx_2026-11-01T09
    host=${name%%_*}
    hour=${name##*_}                           # 2026-11-01T09
    datalake push "$file" --what nginx --where "$host" --data-version combined-1 \
        --start "$hour:00:00Z" --end "$hour:59:59.999Z" >/dev/null
done
for file in logs/*_syslog_*.log; do
    host=$(basename "$file" | cut -d_ -f1)
    datalake push "$file" --what syslog --where "$host" --data-version rfc3164 \
        --start 2026-11-01T09:00:00Z --end 2026-11-01T11:00:00Z --work-id demo-boot-1 >/dev/null
done

echo "== nginx logs from web01 between 10:30 and 11:30 =="
datalake list --what nginx --where web01 --start 2026-11-01T10:30Z --end 2026-11-01T11:30Z
echo "== everything with work id demo-boot-1 =="
datalake list --work-id demo-boot-1
echo "== catalog =="
datalake catalog
echo "== fetch all nginx logs into ./fetched =="
datalake fetch --what nginx --start 2026-11-01 --dest fetched
echo "== 500 errors per host, with grep on the fetched files =="
grep -c '" 500 ' fetched/*/nginx_*.log
echo "== the same without fetching: datalake grep, per file (where:what:start:count) =="
datalake grep -c '" 500 ' --what nginx --start 2026-11-01
echo "== parsed rows: record the parser once, then read (CSV) =="
datalake format set nginx combined-1 nginx
datalake read --what nginx --where web01 --start 2026-11-01T10:30Z --end 2026-11-01T10:31Z
