#!/usr/bin/env sh
# Installs a built `cairn` binary as a systemd service on this machine.
# Usage: sudo packaging/install.sh [path/to/cairn]
set -eu
bin="${1:-target/release/cairn}"
[ -x "$bin" ] || { echo "no executable at $bin (build with: cargo build --release)" >&2; exit 1; }
install -m 0755 "$bin" /usr/local/bin/cairn
id cairn >/dev/null 2>&1 || useradd --system --home /var/lib/cairn --shell /usr/sbin/nologin cairn
install -d -m 0750 -o cairn -g cairn /var/lib/cairn
install -d -m 0755 /etc/cairn
[ -f /etc/cairn/cairn.env ] || install -m 0640 "$(dirname "$0")/cairn.env.example" /etc/cairn/cairn.env
install -m 0644 "$(dirname "$0")/cairn.service" /etc/systemd/system/cairn.service
systemctl daemon-reload
echo "Installed. Start with: systemctl enable --now cairn"
echo "Create the first superuser: sudo -u cairn CAIRN_DIR=/var/lib/cairn/cairn_data cairn superuser upsert EMAIL PASSWORD"
