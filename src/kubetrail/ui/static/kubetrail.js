// kubetrail's pages: times in UTC or local time, sortable tables, and (under serve) a page that
// refreshes while events arrive. No inline script anywhere: the Content-Security-Policy forbids it.
"use strict";

const TZ_KEY = "kubetrail.localtime";

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

function localText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone}`;
}

function showTimes(local) {
  for (const el of document.querySelectorAll("time[datetime]")) {
    if (!el.dataset.utc) el.dataset.utc = el.textContent;
    const text = local ? localText(el.getAttribute("datetime")) : null;
    el.textContent = text || el.dataset.utc;
  }
  const button = document.getElementById("tz");
  if (button) {
    button.textContent = local ? "Times: local" : "Times: UTC";
    button.setAttribute("aria-pressed", local ? "true" : "false");
  }
}

function sortKey(cell) {
  const explicit = cell.dataset.sort;
  if (explicit !== undefined) return explicit;
  const time = cell.querySelector("time[datetime]");
  if (time) return time.getAttribute("datetime");
  return cell.textContent.trim().toLowerCase();
}

function compare(a, b) {
  const x = Number(a), y = Number(b);
  if (a !== "" && b !== "" && !Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortBy(button) {
  const table = button.closest("table");
  const th = button.closest("th");
  const column = Number(button.dataset.col);
  const ascending = th.getAttribute("aria-sort") !== "ascending";
  for (const other of table.querySelectorAll("th[aria-sort]")) other.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((r, s) => {
    const order = compare(sortKey(r.cells[column]), sortKey(s.cells[column]));
    return ascending ? order : -order;
  });
  for (const row of rows) body.appendChild(row);
}

function refreshWhileLive() {
  const seconds = Number(document.body.dataset.live || 0);
  if (!seconds) return;
  let touched = false;
  document.addEventListener("input", () => { touched = true; });
  setInterval(() => {
    if (!touched && document.visibilityState === "visible") window.location.reload();
  }, seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  let local = window.localStorage.getItem(TZ_KEY) === "1";
  showTimes(local);
  const button = document.getElementById("tz");
  if (button) {
    button.addEventListener("click", () => {
      local = !local;
      window.localStorage.setItem(TZ_KEY, local ? "1" : "0");
      showTimes(local);
    });
  }
  for (const b of document.querySelectorAll("button.sort")) b.addEventListener("click", () => sortBy(b));
  refreshWhileLive();
});
