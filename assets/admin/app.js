// The admin UI shell. For now it does two jobs beyond the placeholder:
// the first-run installer, reached through the link `cairn serve` prints
// (/_/#/install/<token>), and the page an OAuth2 sign-in popup lands on.
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

// Where /api/oauth2-redirect sends the sign-in popup: "success" or
// "failure", or null on any other page.
function oauth2Outcome() {
  const m = location.hash.match(/^#\/auth\/oauth2-redirect-(success|failure)$/);
  return m ? m[1] : null;
}

function renderOAuth2(outcome) {
  document.getElementById("oauth2").hidden = !outcome;
  if (!outcome) return;
  const ok = outcome === "success";
  document.getElementById("oauth2-title").textContent = ok ? "Signed in" : "Sign-in failed";
  document.getElementById("oauth2-text").textContent = ok
    ? "You can close this window and return to the app."
    : "The provider did not complete the sign-in. Close this window and try again from the app.";
  if (ok) setTimeout(() => window.close(), 1500);
}

// Shows the installer when the URL carries a token, the OAuth2 outcome
// after a provider's redirect, the home page otherwise; runs on load and
// whenever the hash changes.
function render() {
  const token = installToken();
  const outcome = oauth2Outcome();
  const form = document.getElementById("install-form");
  const status = document.getElementById("install-status");
  document.getElementById("install").hidden = !token;
  renderOAuth2(outcome);
  document.getElementById("home").hidden = Boolean(token || outcome);
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
