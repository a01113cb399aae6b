"""Make the extra samples: gzip'd (logrotated) nginx logs of web03 in logs/rotated, and the
orders app log in logs/app (CSV for data-version 1, JSON lines for 2).  Deterministic:

    cd samples && python make_more_samples.py    (writes the same bytes every time)
"""
import gzip, json, random, datetime as dt
from pathlib import Path
random.seed(20261101)
root = Path(__file__).parent / "logs"
paths = ["/", "/login", "/api/orders", "/api/orders/42", "/static/app.js", "/health", "/index.html"]
uas = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "python-requests/2.32"]
for hour in (9, 10, 11):
    t = dt.datetime(2026, 11, 1, hour, 0, tzinfo=dt.timezone.utc)
    lines = []
    while True:
        t += dt.timedelta(seconds=random.randint(5, 60))
        if t.hour != hour:
            break
        status = random.choices([200, 304, 404, 500], [85, 8, 5, 2])[0]
        method = random.choices(["GET", "POST"], [9, 1])[0]
        lines.append(f'10.0.{random.randint(0, 3)}.{random.randint(1, 254)} - - '
                     f'[{t:%d/%b/%Y:%H:%M:%S} +0000] "{method} {random.choice(paths)} HTTP/1.1" '
                     f'{status} {random.randint(100, 9999)} "-" "{random.choice(uas)}"')
    if hour == 10:
        lines.insert(40, '10.0.9.9 - - [01/Nov/2026:10:25:00 +0000] "\\x16\\x03\\x01\\x02" 400 157 "-" "-"')
    data = ("\n".join(lines) + "\n").encode()
    with open(root / "rotated" / f"web03_nginx_2026-11-01T{hour:02d}.log.gz", "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
# the app log: data-version 1 is CSV (09:00-10:00), data-version 2 JSON lines (10:00-12:00)
rows = ["time,level,endpoint,status,ms"]
t = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
eps = ["/api/orders", "/api/orders/42", "/api/cart", "/api/login"]
while True:
    t += dt.timedelta(seconds=random.randint(20, 90))
    if t.hour >= 10:
        break
    status = random.choices([200, 404, 500], [90, 6, 4])[0]
    level = "error" if status == 500 else "info"
    rows.append(f"{t:%Y-%m-%dT%H:%M:%SZ},{level},{random.choice(eps)},{status},{random.randint(3, 900)}")
(root / "app" / "api01_orders_2026-11-01T09.csv").write_text("\n".join(rows) + "\n")
lines = []
t = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone.utc)
while True:
    t += dt.timedelta(seconds=random.randint(20, 90))
    if t.hour >= 12:
        break
    status = random.choices([200, 404, 500], [90, 6, 4])[0]
    event = {"time": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{random.randint(0, 999):03d}Z",
             "level": "error" if status == 500 else "info", "endpoint": random.choice(eps),
             "status": status, "ms": random.randint(3, 900),
             "user": random.choice(["ana", "bo", "cy", None])}
    if status == 500:
        event["error"] = {"type": "Timeout", "upstream": "db01"}
    lines.append(json.dumps(event))
lines.insert(25, "Traceback (most recent call last):")
lines.insert(26, '["not", "an", "object"]')
(root / "app" / "api01_orders_2026-11-01T10.jsonl").write_text("\n".join(lines) + "\n")
