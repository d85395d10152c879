// Quartierbot sandbox page: chat with the bot as one or more residents.
// Message text is rendered from `text` + `entities` with DOM nodes and textContent only —
// never by parsing HTML — because residents' names and messages may contain markup.
"use strict";

const LANGUAGE_NAMES = {
  de: "Deutsch", tr: "Türkçe", ar: "العربية", uk: "Українська", el: "Ελληνικά", ro: "Română",
  pl: "Polski", it: "Italiano", fa: "فارسی", ku: "Kurdî (Kurmancî)", ru: "Русский", en: "English",
};
const SAFE_URL = /^(https?:|tg:|mailto:)/i;

const state = {
  bot: null,
  users: new Map(),      // id -> user
  chats: new Map(),      // chat id -> Map(message_id -> message)
  unread: new Map(),     // chat id -> count
  selected: null,
  lastEvent: 0,
  hiddenReplyKeyboard: new Set(), // message keys whose one-time keyboard was used
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch("/sandbox/api" + path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) throw new Error((body && body.error) || response.statusText);
  return body;
}

function postJson(path, data) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
}

// ---------------------------------------------------------------- toast

let toastTimer = null;
function toast(message, ms = 2600) {
  const node = $("toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, ms);
}

function reportError(error) {
  toast("⚠ " + (error && error.message ? error.message : String(error)), 4000);
}

// ---------------------------------------------------------------- residents

function initials(name) {
  return Array.from(name.trim()).slice(0, 1).join("").toUpperCase() || "?";
}

function avatarColor(id) {
  const colors = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];
  return colors[Math.abs(Number(id)) % colors.length];
}

function displayName(user) {
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}

function renderUsers() {
  const list = $("user-list");
  list.replaceChildren();
  for (const user of state.users.values()) {
    const tags = el("div", { class: "user-tags" },
      el("span", { class: "tag", title: LANGUAGE_NAMES[user.language_code] || "", text: user.language_code || "—" }));
    if (user.is_coordinator) tags.append(el("span", { class: "tag coord", text: "coordinator" }));
    const unread = state.unread.get(user.id);
    const item = el("li", {
      class: user.id === state.selected ? "active" : "",
      tabindex: 0,
      role: "button",
      onclick: () => selectUser(user.id),
      onkeydown: (event) => { if (event.key === "Enter") selectUser(user.id); },
    },
    el("div", { class: "avatar", style: `background:${avatarColor(user.id)}`, text: initials(user.first_name) }),
    el("div", { class: "user-meta" }, el("div", { class: "user-name", dir: "auto", text: displayName(user) }), tags),
    unread ? el("span", { class: "unread", text: String(unread) }) : null);
    list.append(item);
  }
  $("no-users").hidden = state.users.size > 0;
}

async function selectUser(userId) {
  state.selected = userId;
  window.history.replaceState(null, "", `?user=${userId}`);
  state.unread.delete(userId);
  renderUsers();
  const user = state.users.get(userId);
  $("chat-title").textContent = displayName(user);
  $("chat-title").setAttribute("dir", "auto");
  $("chat-sub").textContent = `id ${user.id} · ${LANGUAGE_NAMES[user.language_code] || user.language_code || "no language"}` +
    (user.is_coordinator ? " · coordinator" : "");
  $("text-input").disabled = false;
  $("btn-send").disabled = false;
  try {
    const messages = await api(`/chats/${userId}/messages`);
    const chat = new Map();
    for (const message of messages) chat.set(message.message_id, message);
    state.chats.set(userId, chat);
  } catch (error) {
    reportError(error);
  }
  renderChat();
  $("text-input").focus();
}

// ---------------------------------------------------------------- formatted text

function entityElement(entity, text) {
  switch (entity.type) {
    case "bold": return el("strong");
    case "italic": return el("em");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre", { "data-language": entity.language });
    case "blockquote":
    case "expandable_blockquote": return el("blockquote");
    case "spoiler": {
      const node = el("span", { class: "spoiler", title: "Spoiler — click to reveal" });
      node.addEventListener("click", () => node.classList.add("revealed"));
      return node;
    }
    case "text_link":
      return SAFE_URL.test(entity.url || "")
        ? el("a", { href: entity.url, target: "_blank", rel: "noopener noreferrer", title: entity.url })
        : el("span", { class: "accent", title: entity.url || "" });
    case "url": {
      const url = text.slice(entity.offset, entity.offset + entity.length);
      return SAFE_URL.test(url) ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }) : el("span");
    }
    case "bot_command": {
      const command = text.slice(entity.offset, entity.offset + entity.length);
      return el("span", { class: "accent command", title: "Send " + command, onclick: () => sendText(command) });
    }
    case "mention":
    case "hashtag":
    case "cashtag":
    case "email":
    case "phone_number":
    case "text_mention":
      return el("span", { class: "accent" });
    default:
      return el("span");
  }
}

// Offsets are UTF-16 code units — the same units JavaScript strings use.
function renderFormatted(text, entities) {
  const sorted = (entities || [])
    .filter((e) => e.length > 0)
    .map((e) => ({ ...e }))
    .sort((a, b) => a.offset - b.offset || b.length - a.length);

  function build(start, end, list) {
    const fragment = document.createDocumentFragment();
    let pos = start;
    let i = 0;
    while (i < list.length) {
      const entity = list[i];
      const entityStart = Math.max(entity.offset, pos);
      const entityEnd = Math.min(entity.offset + entity.length, end);
      const children = [];
      let j = i + 1;
      while (j < list.length && list[j].offset < entityEnd) {
        const child = list[j];
        const childEnd = Math.min(child.offset + child.length, entityEnd);
        children.push({ ...child, length: childEnd - child.offset });
        j += 1;
      }
      if (entityEnd > entityStart) {
        if (entityStart > pos) fragment.append(document.createTextNode(text.slice(pos, entityStart)));
        const node = entityElement(entity, text);
        node.append(build(entityStart, entityEnd, children));
        fragment.append(node);
        pos = entityEnd;
      }
      i = j;
    }
    if (pos < end) fragment.append(document.createTextNode(text.slice(pos, end)));
    return fragment;
  }
  return build(0, text.length, sorted);
}

// ---------------------------------------------------------------- messages

function formatTime(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function inlineKeyboard(message) {
  const rows = message.reply_markup && message.reply_markup.inline_keyboard;
  if (!Array.isArray(rows) || rows.length === 0) return null;
  // Telegram lays a row of buttons out left to right in every language; each label on its own.
  const keyboard = el("div", { class: "keyboard", dir: "ltr" });
  for (const row of rows) {
    const rowNode = el("div", { class: "row" });
    for (const button of row) {
      const label = String(button.text || "");
      if (typeof button.callback_data === "string") {
        rowNode.append(el("button", {
          type: "button", dir: "auto", text: label,
          onclick: () => pressButton(message.chat_id, message.message_id, button.callback_data),
        }));
      } else if (typeof button.url === "string" && SAFE_URL.test(button.url)) {
        rowNode.append(el("a", { href: button.url, target: "_blank", rel: "noopener noreferrer", dir: "auto", text: label + " ↗" }));
      } else {
        rowNode.append(el("button", { type: "button", disabled: true, dir: "auto", text: label }));
      }
    }
    keyboard.append(rowNode);
  }
  return keyboard;
}

function messageBody(message) {
  const parts = [];
  const extra = message.extra || {};
  switch (message.kind) {
    case "photo":
      if (message.file_url) parts.push(el("img", { class: "photo", src: message.file_url, alt: "photo" }));
      else parts.push(el("div", { text: "🖼 photo" + (extra.url ? ` (${extra.url})` : "") }));
      break;
    case "voice":
      if (message.file_url) parts.push(el("audio", { controls: true, preload: "none", src: message.file_url }));
      parts.push(el("div", { class: "coords", text: `🎤 voice · ${extra.duration || 1}s` }));
      break;
    case "document":
      parts.push(message.file_url
        ? el("a", { href: message.file_url, download: extra.file_name || "file", text: "📄 " + (extra.file_name || "document") })
        : el("div", { text: "📄 document" }));
      break;
    case "sticker":
      parts.push(el("div", { class: "sticker", text: extra.emoji || "🙂", title: "sticker" }));
      break;
    case "location":
      parts.push(el("div", { class: "place" }, "📍 ",
        el("span", { class: "coords", dir: "ltr", text: `${extra.latitude}, ${extra.longitude}` })));
      break;
    case "venue":
      parts.push(el("div", { class: "place" }, "📍 ",
        el("div", {},
          el("strong", { dir: "auto", text: extra.title || "" }),
          el("div", { dir: "auto", text: extra.address || "" }),
          el("div", { class: "coords", dir: "ltr", text: `${extra.latitude}, ${extra.longitude}` }))));
      break;
    default:
      break;
  }
  // The emulator computes dir by Telegram's rule (the first strong character outside
  // isolates, emulator/direction.py); the browser's dir="auto" doesn't skip isolates.
  const dir = message.dir || "auto";
  if (message.text !== null && message.text !== undefined) {
    parts.push(el("div", { class: "body", dir }, renderFormatted(message.text, message.entities)));
  }
  if (message.caption) {
    parts.push(el("div", { class: "body", dir }, renderFormatted(message.caption, message.caption_entities)));
  }
  return parts;
}

function messageNode(message) {
  const node = el("div", {
    class: "msg " + (message.from_bot ? "bot" : "user"),
    dir: message.dir || "auto",
    "data-id": message.message_id,
  }, ...messageBody(message));
  node.append(inlineKeyboard(message) || "");
  node.append(el("div", { class: "meta", dir: "ltr", text: (message.edited ? "edited · " : "") + formatTime(message.edit_date || message.date) }));
  return node;
}

function renderChat() {
  const box = $("messages");
  box.replaceChildren();
  const chat = state.chats.get(state.selected);
  if (!chat || chat.size === 0) {
    box.append(el("div", { class: "placeholder" }, "No messages yet — send ", el("code", { text: "/start" }), "."));
  } else {
    for (const message of chat.values()) {
      if (!message.deleted) box.append(messageNode(message));
    }
  }
  renderReplyKeyboard();
  box.scrollTop = box.scrollHeight;
}

function upsertMessage(message) {
  let chat = state.chats.get(message.chat_id);
  if (!chat) {
    if (message.chat_id !== state.selected) {
      if (message.from_bot) state.unread.set(message.chat_id, (state.unread.get(message.chat_id) || 0) + 1);
      renderUsers();
      return;
    }
    chat = new Map();
    state.chats.set(message.chat_id, chat);
  }
  const isNew = !chat.has(message.message_id);
  chat.set(message.message_id, message);
  if (message.chat_id !== state.selected) {
    if (isNew && message.from_bot) {
      state.unread.set(message.chat_id, (state.unread.get(message.chat_id) || 0) + 1);
      renderUsers();
    }
    return;
  }
  const box = $("messages");
  const existing = box.querySelector(`.msg[data-id="${message.message_id}"]`);
  if (message.deleted) {
    if (existing) existing.remove();
  } else if (existing) {
    const fresh = messageNode(message);
    fresh.classList.add("flash");
    existing.replaceWith(fresh);
  } else {
    const placeholder = box.querySelector(".placeholder");
    if (placeholder) placeholder.remove();
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    box.append(messageNode(message));
    if (nearBottom || !message.from_bot) box.scrollTop = box.scrollHeight;
  }
  renderReplyKeyboard();
}

function removeMessage(chatId, messageId) {
  const chat = state.chats.get(chatId);
  if (chat && chat.has(messageId)) chat.get(messageId).deleted = true;
  if (chatId === state.selected) {
    const node = $("messages").querySelector(`.msg[data-id="${messageId}"]`);
    if (node) node.remove();
    renderReplyKeyboard();
  }
}

// The reply keyboard (ReplyKeyboardMarkup) of the latest bot message that set or removed one.
function renderReplyKeyboard() {
  const box = $("reply-keyboard");
  box.replaceChildren();
  box.hidden = true;
  const chat = state.chats.get(state.selected);
  if (!chat) return;
  let markup = null;
  let key = null;
  for (const message of chat.values()) {
    const m = message.reply_markup;
    if (!message.from_bot || !m) continue;
    if (Array.isArray(m.keyboard)) { markup = m; key = `${message.chat_id}:${message.message_id}`; }
    else if (m.remove_keyboard) { markup = null; }
  }
  if (!markup || state.hiddenReplyKeyboard.has(key)) return;
  for (const row of markup.keyboard) {
    const rowNode = el("div", { class: "row" });
    for (const button of row) {
      const label = typeof button === "string" ? button : String(button.text || "");
      rowNode.append(el("button", {
        type: "button", dir: "auto", text: label,
        onclick: () => {
          if (markup.one_time_keyboard) { state.hiddenReplyKeyboard.add(key); renderReplyKeyboard(); }
          if (button && button.request_location) showLocationForm();
          else sendText(label);
        },
      }));
    }
    box.append(rowNode);
  }
  box.hidden = false;
}

// ---------------------------------------------------------------- sending

async function sendText(text) {
  if (state.selected === null || !text.trim()) return;
  try {
    await postJson(`/chats/${state.selected}/send`, { text });
  } catch (error) { reportError(error); }
}

async function sendForm(field, file, extra = {}) {
  if (state.selected === null || !file) return;
  const form = new FormData();
  form.append(field, file, file.name || field);
  for (const [key, value] of Object.entries(extra)) form.append(key, value);
  try {
    await api(`/chats/${state.selected}/send`, { method: "POST", body: form });
  } catch (error) { reportError(error); }
}

async function pressButton(chatId, messageId, data) {
  try {
    await postJson(`/chats/${chatId}/press`, { message_id: messageId, data });
  } catch (error) { reportError(error); }
}

function showLocationForm() {
  if (state.selected === null) return;
  $("location-form").hidden = false;
  $("location-form").elements.latitude.focus();
}

let recorder = null;
async function toggleRecording() {
  const button = $("btn-record");
  if (recorder) { recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    const started = Date.now();
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (event) => chunks.push(event.data));
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      const type = recorder.mimeType || "audio/webm";
      recorder = null;
      button.classList.remove("recording");
      const blob = new Blob(chunks, { type });
      const file = new File([blob], "voice." + (type.includes("ogg") ? "ogg" : "webm"), { type });
      sendForm("voice", file, { duration: String(Math.max(1, Math.round((Date.now() - started) / 1000))) });
    });
    recorder.start();
    button.classList.add("recording");
    toast("Recording… click 🎤 again to send");
  } catch (error) {
    recorder = null;
    reportError(error);
  }
}

// ---------------------------------------------------------------- events (long polling)

let chatActionTimer = null;
function handleEvent(event) {
  switch (event.type) {
    case "user":
      state.users.set(event.user.id, event.user);
      renderUsers();
      break;
    case "message":
    case "edit":
      upsertMessage(event.message);
      break;
    case "delete":
      removeMessage(event.chat_id, event.message_id);
      break;
    case "callback_answer":
      if (event.text) {
        const who = event.chat_id === state.selected ? "" : `[${displayName(state.users.get(event.chat_id) || { first_name: String(event.chat_id) })}] `;
        if (event.show_alert) window.alert(who + event.text);
        else toast(who + event.text);
      }
      break;
    case "chat_action":
      if (event.chat_id === state.selected) {
        $("chat-action").textContent = `bot is ${event.action.replace(/_/g, " ")}…`;
        clearTimeout(chatActionTimer);
        chatActionTimer = setTimeout(() => { $("chat-action").textContent = ""; }, 4000);
      }
      break;
    default:
      break;
  }
}

async function pollEvents() {
  for (;;) {
    try {
      const result = await api(`/events?after=${state.lastEvent}&timeout=25`);
      for (const event of result.events) {
        if (event.seq > state.lastEvent) handleEvent(event);
      }
      state.lastEvent = Math.max(state.lastEvent, result.last);
    } catch (_) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

// ---------------------------------------------------------------- setup

async function init() {
  const select = $("language-select");
  for (const [code, name] of Object.entries(LANGUAGE_NAMES)) {
    select.append(el("option", { value: code, text: `${code} — ${name}` }));
  }

  const info = await api("/state");
  state.bot = info.bot;
  state.lastEvent = info.last_event;
  $("bot-info").textContent = `🤖 ${info.bot.first_name} (@${info.bot.username})` + (info.bot.webhook_url ? " · webhook" : "");
  for (const user of info.users) state.users.set(user.id, user);
  renderUsers();
  const wanted = Number(new URLSearchParams(window.location.search).get("user"));
  if (state.users.has(wanted)) selectUser(wanted);
  else if (info.users.length) selectUser(info.users[0].id);

  $("new-user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const user = await postJson("/users", {
        first_name: form.elements.first_name.value,
        language_code: form.elements.language_code.value,
        is_coordinator: form.elements.is_coordinator.checked,
      });
      state.users.set(user.id, user);
      form.elements.first_name.value = "";
      form.elements.is_coordinator.checked = false;
      selectUser(user.id);
    } catch (error) { reportError(error); }
  });

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("text-input");
    const text = input.value;
    input.value = "";
    sendText(text);
  });

  $("btn-photo").addEventListener("click", () => state.selected !== null && $("file-photo").click());
  $("file-photo").addEventListener("change", (event) => {
    const file = event.target.files[0];
    const caption = $("text-input").value.trim();
    $("text-input").value = "";
    sendForm("photo", file, caption ? { caption } : {});
    event.target.value = "";
  });
  $("btn-voice").addEventListener("click", () => state.selected !== null && $("file-voice").click());
  $("file-voice").addEventListener("change", (event) => {
    sendForm("voice", event.target.files[0]);
    event.target.value = "";
  });
  if (window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    $("btn-record").hidden = false;
    $("btn-record").addEventListener("click", () => state.selected !== null && toggleRecording());
  }
  $("btn-sticker").addEventListener("click", async () => {
    if (state.selected === null) return;
    try { await postJson(`/chats/${state.selected}/send`, { sticker: "👍" }); } catch (error) { reportError(error); }
  });
  $("btn-location").addEventListener("click", showLocationForm);
  $("location-cancel").addEventListener("click", () => { $("location-form").hidden = true; });
  $("location-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      await postJson(`/chats/${state.selected}/send`, {
        latitude: Number(form.elements.latitude.value),
        longitude: Number(form.elements.longitude.value),
      });
      form.hidden = true;
    } catch (error) { reportError(error); }
  });

  pollEvents();
}

document.addEventListener("DOMContentLoaded", () => { init().catch(reportError); });
