// Counts a visit through the api (GET /api/hits, proxied by nginx) and shows the total.
"use strict";

async function countVisit() {
    const hits = document.getElementById("hits");
    const status = document.getElementById("status");
    status.textContent = "";
    try {
        const response = await fetch("/api/hits", { headers: { Accept: "application/json" }, cache: "no-store" });
        if (!response.ok) throw new Error(`the api answered ${response.status}`);
        const body = await response.json();
        hits.textContent = String(body.hits);
    } catch (error) {
        hits.textContent = "?";
        status.textContent = `Could not count this visit: ${error.message}`;
    }
}

document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("refresh").addEventListener("click", countVisit);
    countVisit();
});
