// Card entry for the checkout and pay-again forms (templates/includes/card_entry.html).
//
// The card number goes from this page straight to the payment gateway, on its
// own origin (CORS; the Content-Security-Policy's connect-src allows exactly
// it), with the shop's publishable key. The gateway answers with a single-use
// token (pm_...), which goes in the form's hidden payment_method input; the
// number's own input has no name, so the form never posts it. The submit
// button is enabled only while a token for the number shown is there.
//
// Listeners sit on the document, so a form that htmx swaps in (the boosted
// pay-again form answered 400) works without being set up again.
(function () {
  "use strict";

  const UNREACHABLE =
    "The payment provider could not be reached. Check your connection and try again.";
  let sequence = 0;

  function digits(value) {
    return value.replace(/[\s-]/g, "");
  }

  function luhnValid(number) {
    let total = 0;
    for (let index = 0; index < number.length; index += 1) {
      let digit = Number(number[number.length - 1 - index]);
      if (index % 2) {
        digit = digit > 4 ? digit * 2 - 9 : digit * 2;
      }
      total += digit;
    }
    return total % 10 === 0;
  }

  function looksComplete(number) {
    return /^[0-9]{12,19}$/.test(number) && luhnValid(number);
  }

  function partsOf(form) {
    return {
      number: form.querySelector("[data-card-number]"),
      token: form.querySelector("[data-card-token]"),
      error: form.querySelector("[data-card-error]"),
      ready: form.querySelector("[data-card-ready]"),
      submit: form.querySelector("[data-card-submit]"),
      field: form.querySelector("[data-card-entry]"),
    };
  }

  function showError(parts, message) {
    parts.error.replaceChildren();
    if (message) {
      const item = document.createElement("li");
      item.textContent = message;
      parts.error.append(item);
    }
    parts.error.hidden = !message;
    parts.field.classList.toggle("field--error", Boolean(message));
    if (message) {
      parts.number.setAttribute("aria-invalid", "true");
    } else {
      parts.number.removeAttribute("aria-invalid");
    }
  }

  function forget(form) {
    const parts = partsOf(form);
    parts.token.value = "";
    delete form.dataset.tokenFor;
    parts.ready.textContent = "";
    parts.submit.disabled = true;
  }

  async function tokenize(form) {
    const parts = partsOf(form);
    const number = digits(parts.number.value);
    if (!number || form.dataset.tokenFor === number || form.dataset.pendingFor === number) {
      return;
    }
    const mine = (sequence += 1);
    form.dataset.pendingFor = number;
    let answer;
    try {
      const response = await fetch(`${form.dataset.gatewayUrl}/payment_methods`, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: {
          Authorization: `Bearer ${form.dataset.publishableKey}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ card: { number } }),
      });
      answer = { ok: response.ok, body: await response.json() };
    } catch (error) {
      answer = { ok: false, body: { error: { message: UNREACHABLE } } };
    }
    if (form.dataset.pendingFor === number) {
      delete form.dataset.pendingFor;
    }
    if (mine !== sequence || digits(parts.number.value) !== number) {
      return; // the shopper typed on meanwhile: that number gets its own answer
    }
    if (answer.ok && answer.body.id) {
      const card = answer.body.card || {};
      const brand = card.brand && card.brand !== "unknown" ? card.brand : "Card";
      parts.token.value = answer.body.id;
      form.dataset.tokenFor = number;
      showError(parts, "");
      parts.ready.textContent = `${brand[0].toUpperCase()}${brand.slice(1)} ending ${card.last4} is ready.`;
      parts.submit.disabled = false;
    } else {
      const error = answer.body.error || {};
      showError(parts, error.message || answer.body.message || UNREACHABLE);
    }
  }

  function cardForm(event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.matches("[data-card-number]")) {
      return null;
    }
    return input.closest("form[data-tokenize]");
  }

  // While typing: a number that looks complete is tokenized at once, so the
  // button is ready when the shopper reaches it; any edit drops the old token.
  document.addEventListener("input", (event) => {
    const form = cardForm(event);
    if (!form) {
      return;
    }
    const number = digits(event.target.value);
    if (form.dataset.tokenFor !== number) {
      forget(form);
    }
    if (looksComplete(number)) {
      tokenize(form);
    }
  });

  // Leaving the field: whatever was typed goes to the gateway, which says
  // what is wrong with it (shown next to the field).
  document.addEventListener("change", (event) => {
    const form = cardForm(event);
    if (form) {
      tokenize(form);
    }
  });
})();
