// The admin UI shell. For now it does one job beyond the placeholder:
// the first-run installer, reached through the link `cairn serve` prints
// (/_/#/install/<token>).
"use strict";

function installToken() {
  const m = location.hash.match(/^#\/install\/([A-Za-z0-9._-]+)$/);
  return m ? m[1] : null;
}

function describe(body) {
  const fields = body && body.data ? Object.entries(body.data) : [];
  if (fields.length) {
    return fields.map(([name, e]) => `${name}: ${e.message}`).join(" ");
  }
  return (body && body.message) || "Something went wrong.";
}

async function submit(token, form, status) {
  status.className = "";
  status.textContent = "Creating…";
  const data = Object.fromEntries(new FormData(form));
  let resp, body;
  try {
    resp = await fetch("/api/installer/superuser", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": token },
      body: JSON.stringify(data),
    });
    body = await resp.json().catch(() => null);
  } catch (err) {
    status.className = "error";
    status.textContent = "The server could not be reached.";
    return;
  }
  if (resp.ok) {
    status.className = "ok";
    status.textContent = `Superuser ${body.email} created. You can close this page.`;
    form.querySelector("button").disabled = true;
    history.replaceState(null, "", "/_/");
  } else {
    status.className = "error";
    status.textContent = describe(body);
  }
}

function main() {
  const token = installToken();
  if (!token) return;
  document.getElementById("install").hidden = false;
  document.getElementById("home").hidden = true;
  const form = document.getElementById("install-form");
  const status = document.getElementById("install-status");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit(token, form, status);
  });
}

main();
