// The image page's URL builder (templates/dashboard/image_detail.html). The server is the
// only judge of a transformation: each change asks the page's builder view for the
// canonical URL and the preview address, so no delivery rule is copied here.
(() => {
  "use strict";
  const card = document.getElementById("url-builder");
  if (!card) return;
  const form = document.getElementById("builder-form");
  const urlBox = document.getElementById("builder-url");
  const preview = document.getElementById("preview");
  const figure = document.getElementById("preview-figure");
  const none = document.getElementById("preview-none");
  const size = document.getElementById("preview-size");
  const error = document.getElementById("preview-error");
  const DEBOUNCE_MS = 350;

  function showError(sentences) {
    error.replaceChildren(...sentences.map((text) => {
      const line = document.createElement("span");
      line.textContent = text;
      line.style.display = "block";
      return line;
    }));
    error.hidden = sentences.length === 0;
  }

  function fieldQuery(source) {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(source)) {
      if (value !== "" && name !== "csrfmiddlewaretoken") params.append(name, value);
    }
    return params;
  }

  function showPreview(address) {
    figure.hidden = !address;
    none.hidden = Boolean(address);
    if (!address) { preview.removeAttribute("src"); size.textContent = ""; return; }
    if (preview.getAttribute("src") !== address) {
      size.textContent = "Loading the preview…";
      preview.src = address;
    }
  }

  preview.addEventListener("load", () => {
    size.textContent = `${preview.naturalWidth} × ${preview.naturalHeight} px`;
  });
  preview.addEventListener("error", async () => {
    // The preview endpoint answers delivery's JSON sentence when it refuses a query.
    size.textContent = "";
    try {
      const answer = await fetch(preview.src, { headers: { Accept: "application/json" } });
      const body = await answer.json();
      showError([body.detail || `The preview failed (HTTP ${answer.status}).`]);
    } catch (e) {
      showError(["The preview could not be loaded."]);
    }
  });
  if (preview.complete && preview.naturalWidth) {
    size.textContent = `${preview.naturalWidth} × ${preview.naturalHeight} px`;
  }

  let timer = null;
  let asked = 0;
  async function refresh() {
    const query = fieldQuery(form);
    const mine = ++asked;
    const answer = await fetch(`${card.dataset.builderUrl}?${query}`, {
      headers: { Accept: "application/json" },
    });
    const body = await answer.json();
    if (mine !== asked) return;  // a later change already asked again
    urlBox.value = body.url;
    showError(body.problems || []);
    showPreview(body.preview_url);
    // The page's own address follows the fields (never a signed URL: those are POSTed).
    history.replaceState(null, "", query.toString() ? `?${query}` : location.pathname);
  }
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    refresh();
  });

  async function copy(text, status) {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch (e) {
      status.textContent = "Could not copy: select the text and copy it.";
    }
  }
  const copyStatus = document.getElementById("copy-url-status");
  document.getElementById("copy-url").addEventListener("click", () => copy(urlBox.value, copyStatus));

  const signed = document.getElementById("signed-form");
  if (!signed) return;
  signed.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("signed-status");
    const body = new FormData(form);
    body.set("valid_for", signed.elements.valid_for.value);
    body.set("csrfmiddlewaretoken", signed.elements.csrfmiddlewaretoken.value);
    status.textContent = "Signing…";
    const answer = await fetch(signed.action, {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const result = await answer.json();
    if (!answer.ok) {
      status.textContent = (result.problems || ["No signed URL."]).join(" ");
      return;
    }
    const box = document.getElementById("signed-url");
    box.value = result.url;
    document.getElementById("signed-box").hidden = false;
    await copy(result.url, status);
    if (status.textContent === "Copied.") {
      status.textContent = `Copied a signed URL valid for ${result.valid_for}.`;
    }
  });
})();
