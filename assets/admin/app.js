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

// Shows the installer when the URL carries a token, the home page
// otherwise; runs on load and whenever the hash changes.
function render() {
  const token = installToken();
  const form = document.getElementById("install-form");
  const status = document.getElementById("install-status");
  document.getElementById("install").hidden = !token;
  document.getElementById("home").hidden = Boolean(token);
  status.className = "";
  status.textContent = "";
  form.querySelector("button").disabled = false;
  form.dataset.token = token || "";
}

function main() {
  const form = document.getElementById("install-form");
  const status = document.getElementById("install-status");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (form.dataset.token) submit(form.dataset.token, form, status);
  });
  window.addEventListener("hashchange", render);
  render();
}

main();
