/* Behaviour of the form page: the markup comes complete from the server (forms/html.py).
 *
 * This script reads values back from the markup, shows and hides fields by their display
 * condition, adds and removes array items, sends a form to the server and puts every
 * validation message next to the field its location names. It never builds markup from
 * server text with innerHTML: text goes in through textContent only.
 *
 * Display conditions arrive already parsed (a JSON tree in data-condition, see
 * forms/visibility.py); evaluateCondition below follows the server's rules exactly.
 */
"use strict";

(function () {
  // ------------------------------------------------------------ display conditions

  function isNumber(value) { return typeof value === "number"; }
  function isObject(value) { return value !== null && typeof value === "object" && !Array.isArray(value); }

  /** null, false, 0, "", [] and {} are false; everything else is true. */
  function truthy(value) {
    if (value === null || value === undefined) return false;
    if (typeof value === "boolean") return value;
    if (isNumber(value)) return value !== 0;
    if (typeof value === "string" || Array.isArray(value)) return value.length > 0;
    if (isObject(value)) return Object.keys(value).length > 0;
    return true;
  }

  /** JSON equality, as JSON Schema's const sees it: true is not 1, 1 is 1.0. */
  function jsonEqual(left, right) {
    if (left === undefined) left = null;
    if (right === undefined) right = null;
    if (left === null || right === null) return left === right;
    if (typeof left === "boolean" || typeof right === "boolean") return left === right;
    if (isNumber(left) || isNumber(right)) return isNumber(left) && isNumber(right) && left === right;
    if (typeof left === "string" || typeof right === "string") return left === right;
    if (Array.isArray(left) && Array.isArray(right)) {
      return left.length === right.length && left.every((item, i) => jsonEqual(item, right[i]));
    }
    if (isObject(left) && isObject(right)) {
      const keys = Object.keys(left);
      if (keys.length !== Object.keys(right).length) return false;
      return keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && jsonEqual(left[key], right[key]));
    }
    return false;
  }

  /** Strings are ordered by code point, as Python orders them (not by UTF-16 unit). */
  function compareStrings(left, right) {
    const a = Array.from(left), b = Array.from(right);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const difference = a[i].codePointAt(0) - b[i].codePointAt(0);
      if (difference !== 0) return difference;
    }
    return a.length - b.length;
  }

  const ORDER_TESTS = {
    "<": (a, b) => a < b, "<=": (a, b) => a <= b, ">": (a, b) => a > b, ">=": (a, b) => a >= b,
  };

  /** Two numbers or two strings are ordered; any other pair is not (false). */
  function ordered(op, left, right) {
    if (isNumber(left) && isNumber(right)) return ORDER_TESTS[op](left, right);
    if (typeof left === "string" && typeof right === "string") return ORDER_TESTS[op](compareStrings(left, right), 0);
    return false;
  }

  function walk(steps, values, index) {
    let current = values;
    for (const step of steps) {
      if (typeof step === "string") {
        if (!isObject(current) || !Object.prototype.hasOwnProperty.call(current, step)) return null;
        current = current[step];
      } else {
        const position = step === null ? index : step;
        if (typeof position !== "number" || !Array.isArray(current) || position < 0 || position >= current.length) return null;
        current = current[position];
      }
    }
    return current === undefined ? null : current;
  }

  function valueOf(node, values, index) {
    if ("literal" in node) return node.literal;
    if ("list" in node) return node.list;
    if ("path" in node) return walk(node.path, values, index);
    if ("not" in node) return !truthy(valueOf(node.not, values, index));
    if ("compare" in node) {
      const left = valueOf(node.left, values, index), right = valueOf(node.right, values, index);
      if (node.compare === "==") return jsonEqual(left, right);
      if (node.compare === "!=") return !jsonEqual(left, right);
      return ordered(node.compare, left, right);
    }
    if ("in" in node) {
      const element = valueOf(node.in, values, index), collection = valueOf(node.collection, values, index);
      const found = Array.isArray(collection) && collection.some((item) => jsonEqual(element, item));
      return found !== node.negated;
    }
    if ("and" in node) return node.and.every((operand) => truthy(valueOf(operand, values, index)));
    if ("or" in node) return node.or.some((operand) => truthy(valueOf(operand, values, index)));
    throw new Error("unknown condition node " + JSON.stringify(node));
  }

  /** Whether a field is shown, given its siblings' values and its array item's position. */
  function evaluateCondition(tree, values, index) {
    return truthy(valueOf(tree, values, index === undefined ? null : index));
  }

  // ------------------------------------------------------------ reading the markup

  function rootOf(form) { return form.querySelector(":scope > .zc-fields"); }

  /** The fields that belong directly to a container (not to a nested object or array item). */
  function directFields(container) {
    return Array.from(container.querySelectorAll(".zc-field"))
      .filter((field) => field.parentElement.closest(".zc-fields, .zc-item-body") === container);
  }

  function membersOf(field) { return field.querySelector(":scope > .zc-fields"); }
  function itemsOf(arrayField) { return Array.from(arrayField.querySelector(":scope > .zc-items").children); }
  function itemField(item) { return item.querySelector(":scope > .zc-item-body > .zc-field"); }
  function isShown(field) { return field.dataset.shown !== "false"; }

  /** The values of a container's shown fields; empty inputs are left out (never sent). */
  function readContainer(container) {
    const values = {};
    for (const field of directFields(container)) {
      if (!isShown(field)) continue;
      const value = readField(field, false);
      if (value !== undefined) values[field.dataset.key] = value;
    }
    return values;
  }

  function readField(field, inItem) {
    const type = field.dataset.type;
    if (field.classList.contains("zc-array")) {
      const items = itemsOf(field).map((item) => {
        const value = readField(itemField(item), true);
        return value === undefined ? null : value;
      });
      return items.length ? items : undefined;
    }
    if (field.classList.contains("zc-object")) {
      const value = readContainer(membersOf(field));
      return Object.keys(value).length || inItem || "required" in field.dataset ? value : undefined;
    }
    if (field.classList.contains("zc-checkboxes")) {
      const chosen = Array.from(field.querySelectorAll("input[type=checkbox]:checked")).map((box) => JSON.parse(box.value));
      return chosen.length ? chosen : undefined;
    }
    const input = field.querySelector(":scope > .zc-input");
    if (input.tagName === "SELECT") return input.value === "" ? undefined : JSON.parse(input.value);
    if (input.validity && input.validity.badInput) return null; // text in a number box: let the server name the rule
    const raw = input.value;
    if (raw === "") return inItem && type === "STRING" ? "" : undefined;
    if (type === "INTEGER" || type === "NUMBER") {
      const number = Number(raw);
      return Number.isFinite(number) ? number : raw;
    }
    if (type === "BOOLEAN") return raw === "true" ? true : raw === "false" ? false : raw;
    if (type === "DATE_TIME" && input.type === "datetime-local") {
      const moment = new Date(raw);
      return Number.isNaN(moment.getTime()) ? raw : moment.toISOString();
    }
    if (type === "TIME" && /^\d\d:\d\d$/.test(raw)) return raw + ":00";
    return raw;
  }

  function defaultsOf(form) {
    try { return JSON.parse(form.dataset.defaults || "{}"); } catch (error) { return {}; }
  }

  // ------------------------------------------------------------ conditional fields

  function setShown(field, shown) {
    field.dataset.shown = shown ? "true" : "false";
    field.hidden = !shown;
    if (!shown) clearField(field);
  }

  /**
   * Show exactly the fields whose condition holds, judged as the server judges them: on what
   * the page sends (shown fields only), with the top-level defaults filled in for absent keys.
   * Inside array items a name is looked up in the item first, then in `outer` (the top level,
   * or the object holding the array when that object is itself at the top level). A field can
   * depend on another conditional one, so this repeats until nothing changes.
   */
  function refreshContainer(container, defaults, index, outer) {
    const fields = directFields(container);
    const conditional = fields.filter((field) => field.dataset.condition);
    let values = {};
    for (let round = 0; round <= conditional.length; round++) {
      values = Object.assign({}, defaults, readContainer(container));
      const scope = outer === null ? values : Object.assign({}, outer, values);
      let changed = false;
      for (const field of conditional) {
        const shown = evaluateCondition(JSON.parse(field.dataset.condition), scope, index);
        if (shown !== isShown(field)) { setShown(field, shown); changed = true; }
      }
      if (!changed) break;
    }
    for (const field of fields) {
      if (field.classList.contains("zc-object")) refreshContainer(membersOf(field), {}, index, outer);
      if (field.classList.contains("zc-array")) {
        itemsOf(field).forEach((item, position) => {
          const inner = itemField(item);
          if (inner && inner.classList.contains("zc-object")) refreshContainer(membersOf(inner), {}, position, outer === null ? values : outer);
        });
      }
    }
  }

  function refresh(form) { refreshContainer(rootOf(form), defaultsOf(form), null, null); }

  // ------------------------------------------------------------ array builders

  let idCounter = 0;

  /** Give a cloned item fresh ids and keep its labels and descriptions pointing at them. */
  function renumber(element) {
    const renamed = new Map();
    element.querySelectorAll("[id]").forEach((node) => {
      const fresh = node.id + "-" + (++idCounter);
      renamed.set(node.id, fresh);
      node.id = fresh;
    });
    const rename = (value) => value.split(" ").map((id) => renamed.get(id) || id).join(" ");
    element.querySelectorAll("[for], [aria-describedby], [list]").forEach((node) => {
      for (const attribute of ["for", "aria-describedby", "list"]) {
        if (node.hasAttribute(attribute)) node.setAttribute(attribute, rename(node.getAttribute(attribute)));
      }
    });
  }

  function addItem(arrayField, value) {
    const template = arrayField.querySelector(":scope > template.zc-item-template");
    const item = template.content.firstElementChild.cloneNode(true);
    renumber(item);
    arrayField.querySelector(":scope > .zc-items").appendChild(item);
    initArrays(item);
    const inner = itemField(item);
    if (value !== undefined && inner) {
      const input = inner.querySelector(":scope > .zc-input");
      if (input && input.tagName !== "SELECT") input.value = String(value);
    }
    updateArray(arrayField);
    return item;
  }

  function updateArray(arrayField) {
    const list = arrayField.querySelector(":scope > .zc-items");
    const items = itemsOf(arrayField);
    const max = list.dataset.maxItems === undefined ? Infinity : Number(list.dataset.maxItems);
    arrayField.querySelector(":scope > .zc-add").disabled = items.length >= max;
    items.forEach((item, position) => {
      const inner = itemField(item);
      const label = inner && inner.querySelector(":scope > .zc-label");
      if (label) label.textContent = "Item " + (position + 1);
    });
  }

  function initArrays(scope) {
    scope.querySelectorAll(".zc-array").forEach((arrayField) => {
      const list = arrayField.querySelector(":scope > .zc-items");
      if (!list || list.dataset.ready) return;
      list.dataset.ready = "true";
      const initial = list.dataset.initial ? JSON.parse(list.dataset.initial) : null;
      if (initial) {
        initial.forEach((value) => addItem(arrayField, value));
      } else {
        const wanted = Math.max(Number(list.dataset.minItems || 0), "required" in arrayField.dataset ? 1 : 0);
        for (let i = 0; i < wanted; i++) addItem(arrayField);
      }
      updateArray(arrayField);
    });
  }

  // ------------------------------------------------------------ validation messages

  function clearField(field) {
    field.classList.remove("zc-invalid");
    const box = field.querySelector(":scope > .zc-notes > .zc-error");
    if (box) { box.textContent = ""; box.hidden = true; }
    const input = field.querySelector(":scope > .zc-input");
    if (input) input.removeAttribute("aria-invalid");
  }

  function clearProblems(form) {
    form.querySelectorAll(".zc-field.zc-invalid").forEach(clearField);
    const summary = form.querySelector(":scope > .zc-form-errors");
    summary.replaceChildren();
    summary.hidden = true;
  }

  /** The field a problem's location (`messages[0].content`) names, or its nearest ancestor; null for the form itself. */
  function locate(form, location) {
    if (!location) return null;
    let container = rootOf(form), field = null;
    for (const step of location.match(/[^.[\]]+|\[\d+\]/g) || []) {
      if (step.startsWith("[")) {
        if (!field || !field.classList.contains("zc-array")) break;
        const item = itemsOf(field)[Number(step.slice(1, -1))];
        if (!item) break;
        field = itemField(item);
        container = field.classList.contains("zc-object") ? membersOf(field) : null;
        continue;
      }
      if (!container) break;
      const next = directFields(container).find((candidate) => candidate.dataset.key === step);
      if (!next) break;
      field = next;
      container = next.classList.contains("zc-object") ? membersOf(next) : null;
    }
    return field;
  }

  function showProblems(form, problems) {
    const summary = form.querySelector(":scope > .zc-form-errors");
    const loose = [];
    let placed = 0;
    for (const problem of problems) {
      const field = locate(form, problem.location);
      if (!field) { loose.push(problem); continue; }
      placed += 1;
      field.classList.add("zc-invalid");
      const box = field.querySelector(":scope > .zc-notes > .zc-error");
      box.textContent = box.textContent ? box.textContent + "\n" + problem.message : problem.message;
      box.hidden = false;
      const input = field.querySelector(":scope > .zc-input");
      if (input) input.setAttribute("aria-invalid", "true");
      for (let fold = field.closest("details"); fold; fold = fold.parentElement.closest("details")) fold.open = true;
    }
    const lines = [];
    if (placed) lines.push(placed === 1 ? "1 problem: see the marked field." : placed + " problems: see the marked fields.");
    for (const problem of loose) lines.push(problem.location ? problem.location + ": " + problem.message : problem.message);
    summary.replaceChildren(...lines.map((line) => { const p = document.createElement("p"); p.textContent = line; return p; }));
    summary.hidden = lines.length === 0;
  }

  function showMessage(form, message) {
    const summary = form.querySelector(":scope > .zc-form-errors");
    const p = document.createElement("p");
    p.textContent = message;
    summary.appendChild(p);
    summary.hidden = false;
  }

  // ------------------------------------------------------------ running

  function apiBase() {
    const main = document.querySelector("main[data-api]");
    return main ? main.dataset.api : null;
  }

  function connectionFormOf(form) {
    return Array.from(document.querySelectorAll("form.zc-form[data-kind=connection]"))
      .find((candidate) => candidate.dataset.component === form.dataset.component) || null;
  }

  function setStatus(form, text) {
    const status = form.querySelector(".zc-status");
    if (status) status.textContent = text;
  }

  async function send(form, mode) {
    const api = apiBase();
    if (!api) return;
    const connection = connectionFormOf(form);
    const body = { inputs: readContainer(rootOf(form)) };
    if (connection) {
      body.connection = readContainer(rootOf(connection));
      body.authorization = connection.dataset.name;
      clearProblems(connection);
    }
    clearProblems(form);
    const output = form.querySelector(".zc-output");
    if (mode === "run") output.hidden = true;
    const buttons = form.querySelectorAll(".zc-buttons button");
    buttons.forEach((button) => { button.disabled = true; });
    setStatus(form, mode === "run" ? "Running…" : "Checking…");
    const url = api + "/" + mode + "/" + encodeURIComponent(form.dataset.component) + "/" + encodeURIComponent(form.dataset.name);
    try {
      const response = await fetch(url, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body), credentials: "same-origin",
      });
      let data = {};
      try { data = await response.json(); } catch (error) { data = { errors: [{ message: "HTTP " + response.status }] }; }
      if (response.ok) {
        setStatus(form, mode === "run" ? "Done." : "No problems found.");
        if (mode === "run") showOutput(form, data);
        return;
      }
      setStatus(form, response.status === 422 ? "Please correct the marked fields." : "Failed.");
      for (const error of data.errors || []) {
        const target = error.scope === "connection" && connection ? connection : form;
        if (error.problems) {
          showProblems(target, error.problems);
          if (target !== form) showMessage(form, "The connection has problems: see the connection form.");
        } else {
          showMessage(form, error.message || "HTTP " + response.status);
        }
      }
    } catch (error) {
      setStatus(form, "");
      showMessage(form, "The server could not be reached: " + error.message);
    } finally {
      buttons.forEach((button) => { button.disabled = false; });
    }
  }

  async function testConnection(form) {
    const api = apiBase();
    if (!api) return;
    clearProblems(form);
    const button = form.querySelector(".zc-test-connection");
    button.disabled = true;
    setStatus(form, "Testing…");
    delete form.dataset.tested;
    const url = api + "/test-connection/" + encodeURIComponent(form.dataset.component);
    const body = { connection: readContainer(rootOf(form)), authorization: form.dataset.name };
    try {
      const response = await fetch(url, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body), credentials: "same-origin",
      });
      let data = {};
      try { data = await response.json(); } catch (error) { data = { errors: [{ message: "HTTP " + response.status }] }; }
      if (response.ok) {
        form.dataset.tested = data.ok ? "ok" : "failed";
        setStatus(form, data.ok ? "Works: " + data.message : "Failed.");
        if (!data.ok && data.error && data.error.problems) showProblems(form, data.error.problems);
        else if (!data.ok) showMessage(form, data.message);
        return;
      }
      setStatus(form, "Failed.");
      for (const error of data.errors || []) showMessage(form, error.message || "HTTP " + response.status);
    } catch (error) {
      setStatus(form, "");
      showMessage(form, "The server could not be reached: " + error.message);
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------ live options

  // Properties with an optionsSource get their options from the server, with the connection
  // form's values; when that fails, or the platform has no list, the static options stay.
  const liveTimers = new Map();

  function scheduleLiveOptions(connection) {
    clearTimeout(liveTimers.get(connection));
    liveTimers.set(connection, setTimeout(() => loadLiveOptions(connection.dataset.component, connection), 400));
  }

  async function loadLiveOptions(component, connection) {
    const api = apiBase();
    if (!api) return;
    const body = connection ? { connection: readContainer(rootOf(connection)), authorization: connection.dataset.name } : {};
    let data;
    try {
      const response = await fetch(api + "/options/" + encodeURIComponent(component), {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body), credentials: "same-origin",
      });
      if (!response.ok) return;
      data = await response.json();
    } catch (error) {
      return;
    }
    for (const [action, properties] of Object.entries(data.actions || {})) {
      const form = Array.from(document.querySelectorAll("form.zc-form[data-kind=action]"))
        .find((candidate) => candidate.dataset.component === component && candidate.dataset.name === action);
      if (!form) continue;
      for (const [key, result] of Object.entries(properties)) {
        const field = form.querySelector(
          ':scope > .zc-fields > .zc-field[data-key="' + key + '"], :scope > .zc-fields > details > .zc-field[data-key="' + key + '"]');
        if (field) applyOptions(field, result);
      }
    }
  }

  function applyOptions(field, result) {
    const options = Array.isArray(result.options) ? result.options : [];
    if (!options.length) return;
    field.dataset.optionsSource = result.source === "live" ? "live" : "static";
    const list = field.querySelector("datalist");
    if (list) {
      list.replaceChildren(...options.map((option) => {
        const element = document.createElement("option");
        element.value = typeof option.value === "string" ? option.value : JSON.stringify(option.value);
        element.label = option.label;
        return element;
      }));
      return;
    }
    const select = field.querySelector("select");
    if (!select) return;
    const chosen = select.value;
    const blank = Array.from(select.options).filter((option) => option.value === "");
    select.replaceChildren(...blank, ...options.map((option) => {
      const element = document.createElement("option");
      element.value = JSON.stringify(option.value);
      element.textContent = option.label;
      if (option.description) element.title = option.description;
      return element;
    }));
    if (Array.from(select.options).some((option) => option.value === chosen)) select.value = chosen;
  }

  function showOutput(form, data) {
    const section = form.querySelector(".zc-output");
    const body = section.querySelector(".zc-output-body");
    const nodes = [];
    for (const warning of data.warnings || []) {
      const p = document.createElement("p");
      p.className = "zc-warning";
      p.textContent = warning;
      nodes.push(p);
    }
    for (const media of data.media || []) {
      const figure = document.createElement("figure");
      figure.className = "zc-media";
      const link = document.createElement("a");
      link.href = media.url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      const image = document.createElement("img");
      image.src = media.url;
      image.alt = "Result " + media.path;
      image.addEventListener("error", () => { image.hidden = true; });
      link.appendChild(image);
      const caption = document.createElement("figcaption");
      caption.textContent = media.url;
      figure.append(link, caption);
      nodes.push(figure);
    }
    const pre = document.createElement("pre");
    if (typeof data.output === "string") {
      pre.className = "zc-text";
      pre.textContent = data.output;
    } else {
      pre.className = "zc-json";
      pre.textContent = JSON.stringify(data.output, null, 2);
    }
    nodes.push(pre);
    body.replaceChildren(...nodes);
    section.hidden = false;
  }

  // ------------------------------------------------------------ wiring

  function init() {
    document.querySelectorAll("form.zc-form").forEach((form) => {
      initArrays(form);
      refresh(form);
      const changed = (event) => {
        const field = event.target.closest && event.target.closest(".zc-field");
        if (field) clearField(field);
        refresh(form);
      };
      form.addEventListener("input", changed);
      form.addEventListener("change", changed);
      if (form.dataset.kind === "connection") {
        form.addEventListener("change", () => scheduleLiveOptions(form));
        loadLiveOptions(form.dataset.component, form);
      }
      form.addEventListener("click", (event) => {
        const button = event.target.closest("button");
        if (!button) return;
        if (button.classList.contains("zc-add")) {
          addItem(button.closest(".zc-array"));
          refresh(form);
        } else if (button.classList.contains("zc-remove")) {
          const arrayField = button.closest(".zc-array");
          button.closest(".zc-item").remove();
          updateArray(arrayField);
          refresh(form);
        } else if (button.classList.contains("zc-check")) {
          send(form, "validate");
        } else if (button.classList.contains("zc-test-connection")) {
          testConnection(form);
        }
      });
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (form.dataset.kind === "action") send(form, "run");
      });
    });
  }

  window.zhipuForms = { evaluateCondition, readValues: (form) => readContainer(rootOf(form)), refresh };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
