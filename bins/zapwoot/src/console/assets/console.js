// zapwoot console: forms call the admin API (same handlers and checks as any client) with the
// session cookie and the page's CSRF token; live parts follow the activity stream.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function api(method, url, body) {
    const init = { method: method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.text().then(function (t) {
        let json = null;
        try { json = t ? JSON.parse(t) : null; } catch (e) { json = null; }
        return { ok: r.ok, status: r.status, json: json };
      });
    });
  }

  function setPath(obj, path, value) {
    const keys = path.split(".");
    let o = obj;
    keys.slice(0, -1).forEach(function (k) { o = o[k] = o[k] || {}; });
    o[keys[keys.length - 1]] = value;
  }

  // The JSON document of a form: dotted names nest; empty fields are left out (a blank
  // secret keeps the stored one); data-type picks number, bool, json or list.
  function documentOf(form) {
    const doc = {};
    form.querySelectorAll("[name]").forEach(function (el) {
      if (el.disabled || el.closest("[hidden]")) return;
      const type = el.dataset.type || "text";
      let v;
      if (el.type === "checkbox") v = el.checked;
      else if (el.value === "") return;
      else if (type === "number") v = Number(el.value);
      else if (type === "json") { try { v = JSON.parse(el.value); } catch (e) { v = el.value; } }
      else if (type === "list") v = el.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
      else if (type === "time") v = new Date(el.value + "Z").toISOString(); // the field says UTC
      else v = el.value;
      setPath(doc, el.name, v);
    });
    return doc;
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (e) { e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
    const general = form.querySelector(".form-error");
    if (general) general.textContent = "";
  }

  // A 422 names a field: its message goes beside the closest field of the form.
  function showError(form, answer) {
    const err = (answer.json && answer.json.error) || { message: "HTTP " + answer.status };
    const field = err.field || "";
    let best = null;
    form.querySelectorAll("[data-error-for]").forEach(function (e) {
      const f = e.dataset.errorFor;
      if ((field === f || field.indexOf(f + ".") === 0) && (!best || f.length > best.dataset.errorFor.length)) best = e;
    });
    if (best) {
      best.textContent = err.message;
      const input = form.querySelector('[name="' + best.dataset.errorFor + '"]');
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    } else {
      const general = form.querySelector(".form-error");
      if (general) general.textContent = err.message; else alert(err.message);
    }
  }

  function show(form, answer) {
    const out = form.querySelector("output") || document.getElementById(form.dataset.output || "");
    if (!out) return;
    out.replaceChildren();
    if (form.dataset.then === "secret" && answer.json && answer.json.secret) {
      const box = document.createElement("div");
      box.className = "secret-once";
      box.textContent = "Signing secret (shown once, copy it now): ";
      const code = document.createElement("code");
      code.dataset.testid = "secret";
      code.textContent = answer.json.secret;
      box.appendChild(code);
      out.appendChild(box);
    }
    const list = summary(answer.json || {});
    if (list.children.length) out.appendChild(list);
    const details = document.createElement("details");
    const label = document.createElement("summary");
    label.textContent = "Answer";
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(answer.json, null, 2);
    details.append(label, pre);
    if (!list.children.length) details.open = true;
    out.appendChild(details);
  }

  // The gist of an API answer: checks passed or failed, notes, codes, counts.
  function summary(json) {
    const list = document.createElement("ul");
    list.className = "summary";
    const add = function (label, text, ok) {
      const li = document.createElement("li");
      if (ok !== undefined) {
        const badge = document.createElement("span");
        badge.className = "state " + (ok ? "ok" : "bad");
        badge.textContent = ok ? "ok" : "failed";
        li.append(badge, " ");
      }
      const b = document.createElement("strong");
      b.textContent = label + ": ";
      li.append(b, text);
      list.appendChild(li);
    };
    if (json.code && typeof json.code === "string") add("Code", json.code);
    if (typeof json.url === "string" && json.url.indexOf("/pair/") > 0) add("Pairing link (shown once; send it to the phone's owner)", json.url);
    Object.keys(json).forEach(function (k) {
      const v = json[k];
      if (v && typeof v === "object" && typeof v.ok === "boolean") add(k.replace(/_/g, " "), v.detail || "", v.ok);
    });
    if (Array.isArray(json.notes)) json.notes.forEach(function (n) { add("Note", n); });
    if (typeof json.running === "boolean") add("Running", json.running ? "yes" : "no " + (json.not_running_reason || ""), json.running);
    if (json.replayed !== undefined) add("Replayed", String(json.replayed));
    if (json.reconnecting) add("Reconnecting", "asked the gateway");
    return list;
  }

  function then(form, answer) {
    const next = form.dataset.then || "reload";
    if (next === "reload") location.reload();
    else if (next.indexOf("go:") === 0) {
      location.assign(next.slice(3).replace("{name}", encodeURIComponent((answer.json && answer.json.name) || "")));
    } else if (next === "import") { show(form, answer); followImport(form, answer.json); }
    else show(form, answer);
  }

  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    if (!form.dataset.api) return;
    ev.preventDefault();
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    clearErrors(form);
    const body = form.dataset.method === "GET" ? undefined : documentOf(form);
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    api(form.dataset.method || "POST", form.dataset.api, body).then(function (answer) {
      if (button) button.disabled = false;
      if (answer.ok) then(form, answer); else showError(form, answer);
    }, function (e) {
      if (button) button.disabled = false;
      showError(form, { status: 0, json: { error: { message: "network error: " + e } } });
    });
  });

  // Copy buttons.
  document.addEventListener("click", function (ev) {
    const b = ev.target.closest("[data-copy]");
    if (!b) return;
    const source = document.getElementById(b.dataset.copy);
    const copied = function () { b.textContent = "Copied"; };
    const fallback = function () {
      const range = document.createRange();
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      if (document.execCommand("copy")) copied(); else b.textContent = "Selected: press Ctrl+C";
    };
    if (navigator.clipboard) navigator.clipboard.writeText(source.textContent).then(copied, fallback);
    else fallback();
  });

  // Gateway kind picks which gateway fields are shown.
  document.querySelectorAll("select[data-kind-switch]").forEach(function (sel) {
    const apply = function () {
      document.querySelectorAll("[data-kind]").forEach(function (el) { el.hidden = el.dataset.kind !== sel.value; });
    };
    sel.addEventListener("change", apply);
    apply();
  });

  // History import: a progress bar that follows the job.
  function followImport(form, job) {
    const bar = form.querySelector("progress");
    if (!bar || !job || !job.id) return;
    const tick = function () {
      api("GET", "/api/v1/imports/" + job.id).then(function (a) {
        const j = a.json || {};
        const total = j.chats_total || 0;
        bar.max = total || 1;
        bar.value = j.chats_done || 0;
        bar.dataset.state = j.state || "";
        if (j.state === "running") setTimeout(tick, 1000);
      });
    };
    tick();
  }

  // Pairing: the QR code refreshing as it rotates, and the state turning to connected.
  document.querySelectorAll("[data-pairing]").forEach(function (box) {
    const name = box.dataset.pairing;
    // The console asks the admin API; a pairing link's page asks its own link.
    const base = box.dataset.base || ("/api/v1/instances/" + encodeURIComponent(name) + "/connection");
    const stateUrl = box.dataset.stateUrl || base;
    const state = box.querySelector("[data-state]");
    const img = box.querySelector("img");
    const note = box.querySelector(".pair-note");
    let wantQr = false, expires = 0;
    function setState(s) {
      state.textContent = s;
      state.className = "state " + s;
      state.dataset.state = s;
    }
    function fetchQr() {
      api("POST", base + "/qr", {}).then(function (a) {
        if (a.ok) {
          img.src = a.json.png; img.hidden = false;
          expires = a.json.expires_at ? Date.parse(a.json.expires_at) : Date.now() + 20000;
          note.textContent = "Scan with WhatsApp → Linked devices → Link a device.";
        } else {
          wantQr = false; img.hidden = true;
          note.textContent = (a.json && a.json.error && a.json.error.message) || ("HTTP " + a.status);
        }
      });
    }
    function poll() {
      api("GET", stateUrl).then(function (a) {
        if (a.status === 410 || a.status === 404) {
          wantQr = false; img.hidden = true;
          note.textContent = "This pairing link has ended.";
          return;
        }
        if (a.ok && a.json) {
          setState(a.json.state);
          if (a.json.state === "connected") {
            wantQr = false; img.hidden = true;
            note.textContent = "Connected" + (a.json.phone ? " as +" + a.json.phone : "") + ".";
            if (box.dataset.base) return;
          } else if (wantQr && Date.now() >= expires) fetchQr();
        }
        setTimeout(poll, 1500);
      });
    }
    box.querySelector("[data-qr]").addEventListener("click", function () { wantQr = true; fetchQr(); });
    poll();
  });

  // The live timeline.
  const timeline = document.querySelector("[data-activity]");
  if (timeline) {
    const list = timeline.querySelector("ol");
    const instance = timeline.querySelector("[name=instance]");
    const type = timeline.querySelector("[name=type]");
    const pause = timeline.querySelector("[data-pause]");
    let paused = false, held = [], source = null;
    function describe(r) {
      const d = r.data || {};
      const who = d.sender ? (d.sender.name || d.sender.phone || d.sender.jid || "") :
        (d.agent ? (d.agent.name || "agent") : "");
      const text = d.text || (d.media ? "[" + (d.media.kind || d.kind || "media") + "]" : "") ||
        d.status || d.state || d.emoji || "";
      return { who: who, text: text, chat: d.chat || "" };
    }
    function render(r) {
      if (type.value && r.type.indexOf(type.value) !== 0) return;
      const li = document.createElement("li");
      li.dataset.type = r.type;
      const d = describe(r);
      const head = document.createElement("div");
      const t = document.createElement("span"); t.className = "type"; t.textContent = r.type;
      const meta = document.createElement("span"); meta.className = "muted";
      meta.textContent = "  " + r.instance + " · " + new Date(r.timestamp_ms).toLocaleTimeString() + (d.chat ? " · " + d.chat : "");
      head.append(t, meta);
      li.appendChild(head);
      if (d.who || d.text) {
        const body = document.createElement("div");
        body.className = "text";
        body.textContent = (d.who ? d.who + ": " : "") + d.text;
        li.appendChild(body);
      }
      list.prepend(li);
      while (list.children.length > 500) list.lastChild.remove();
    }
    function connect() {
      if (source) source.close();
      const q = instance.value ? "?instance=" + encodeURIComponent(instance.value) : "";
      source = new EventSource("/api/v1/activity" + q);
      const onRecord = function (ev) {
        let r; try { r = JSON.parse(ev.data); } catch (e) { return; }
        if (paused) held.push(r); else render(r);
      };
      ["message.received", "message.sent", "message.status", "message.deleted", "message.edited",
        "reaction", "conversation.status", "instance.status", "delivery.failed", "group.participants",
        "reconciled", "import", "endpoint.test", "endpoint.disabled"].forEach(function (n) {
        source.addEventListener(n, onRecord);
      });
      source.onmessage = onRecord;
      timeline.dataset.live = "true";
    }
    instance.addEventListener("change", function () { list.replaceChildren(); connect(); });
    type.addEventListener("change", function () { list.replaceChildren(); });
    pause.addEventListener("click", function () {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      if (!paused) { held.forEach(render); held = []; }
    });
    connect();
  }
})();
