"""The HTTP ceiling that issue 7's goals are ratios of: one nginx worker
answering `200 "ok"` to any request, started under a scratch directory.
Shared by bench-compare.py and measure-cpu-per-write.py so that both
measure the same reference."""

from __future__ import annotations

import os

# `return 200` answers every method and path before any file is looked at;
# the temp paths keep nginx from touching /var/lib/nginx.
_CONF = """daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "ok"; }}
  }}
}}
"""


def nginx_command(directory: str, port: int) -> list[str]:
    """Writes the config into `directory` and returns the nginx command line
    that serves it in the foreground."""
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(_CONF.format(dir=directory, port=port))
    return ["nginx", "-p", directory, "-c", conf, "-e", os.path.join(directory, "error.log")]
