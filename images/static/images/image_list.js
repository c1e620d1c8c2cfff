// The images page (templates/dashboard/images.html): select all on this page, and copy an
// image's URL. Both are shown only once this runs; without it, each checkbox still selects
// its image and the image page shows the URL.
(() => {
  "use strict";
  const form = document.getElementById("bulk");
  if (!form) return;
  const boxes = () => [...form.querySelectorAll('input[name="ids"]')];
  const all = document.getElementById("select-all");
  const count = document.getElementById("selected-count");

  function reflect() {
    const chosen = boxes().filter((box) => box.checked).length;
    all.checked = chosen > 0 && chosen === boxes().length;
    all.indeterminate = chosen > 0 && chosen < boxes().length;
    count.textContent = chosen ? `${chosen} selected` : "";
  }

  if (all) {
    document.getElementById("select-all-row").hidden = false;
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
      reflect();
    });
    form.addEventListener("change", (event) => {
      if (event.target.name === "ids") reflect();
    });
    reflect();
  }

  const status = document.getElementById("copy-status");
  for (const button of form.querySelectorAll("button.copy-url")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const { url, name } = button.dataset;
      const privately = "private" in button.dataset
        ? " It is private: this URL answers 404 unless signed (the image page makes a signed one)."
        : "";
      try {
        await navigator.clipboard.writeText(url);
        status.textContent = `Copied the URL of ${name}.${privately}`;
      } catch (error) {
        // Plain http:// origins have no clipboard API: show the URL to copy by hand.
        status.textContent = `The URL of ${name}: ${url}${privately}`;
      }
    });
  }
})();
