/* devenv.ports in config.json, the control socket <bundle>/ports.sock (newline-delimited JSON over a unix
 * stream socket; only the monitor's own user or root may connect), the live state <bundle>/ports.json
 * (rewritten atomically on every change) and the event log <bundle>/ports.log (one JSON line per event). */
#include "forward-int.h"

#pragma GCC optimize("Os") /* every byte of the runtime costs every container: see forward.h */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_ROTATE_BYTES (512 * 1024)

/* ---- parsing ------------------------------------------------------------------------------ */

static int bad(struct dv_error *err, const char *field, const char *what) {
  dv_fail(err, 0, NULL, NULL, "invalid config.json: %s %s", field, what);
  err->errnum = EINVAL;
  return -1;
}

static int get_port(json_t *o, const char *key, const char *field, bool required, int min, int *out,
                    struct dv_error *err) {
  json_t *v = json_object_get(o, key);
  char f[160];
  snprintf(f, sizeof(f), "%s.%s", field, key);
  if (v == NULL || json_is_null(v)) {
    if (required) return bad(err, f, "is required");
    *out = -1;
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > 65535) {
    char what[64];
    snprintf(what, sizeof(what), "must be an integer from %d to 65535", min);
    return bad(err, f, what);
  }
  *out = (int)json_integer_value(v);
  return 0;
}

static int get_string(json_t *o, const char *key, const char *field, char *out, size_t len, struct dv_error *err) {
  json_t *v = json_object_get(o, key);
  out[0] = '\0';
  if (v == NULL || json_is_null(v)) return 0;
  char f[160];
  snprintf(f, sizeof(f), "%s.%s", field, key);
  if (!json_is_string(v)) return bad(err, f, "must be a string");
  if (strlen(json_string_value(v)) >= len) return bad(err, f, "is too long");
  snprintf(out, len, "%s", json_string_value(v));
  return 0;
}

static int get_bool(json_t *o, const char *key, const char *field, bool *out, struct dv_error *err) {
  json_t *v = json_object_get(o, key);
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_boolean(v)) {
    char f[160];
    snprintf(f, sizeof(f), "%s.%s", field, key);
    return bad(err, f, "must be a boolean");
  }
  *out = json_is_true(v);
  return 0;
}

/* One forward object (devenv.ports.forwards[i], or the "forward" of an add request). */
static int parse_fwd(json_t *o, const char *field, uint8_t default_source, struct dv_port_fwd *out,
                     struct dv_error *err) {
  memset(out, 0, sizeof(*out));
  if (!json_is_object(o)) return bad(err, field, "must be an object");
  int cport, hport;
  if (get_port(o, "containerPort", field, true, 1, &cport, err) < 0) return -1;
  if (get_port(o, "hostPort", field, false, 0, &hport, err) < 0) return -1;
  out->container_port = (uint16_t)cport;
  out->host_port = hport > 0 ? (uint16_t)hport : 0;
  out->host_port_any = hport == 0;
  if (get_string(o, "hostIp", field, out->host_ip, sizeof(out->host_ip), err) < 0) return -1;
  if (strcmp(out->host_ip, "localhost") == 0) out->host_ip[0] = '\0';
  if (out->host_ip[0]) {
    unsigned char a[16];
    if (inet_pton(AF_INET, out->host_ip, a) != 1 && inet_pton(AF_INET6, out->host_ip, a) != 1) {
      char f[160];
      snprintf(f, sizeof(f), "%s.hostIp", field);
      return bad(err, f, "must be an IPv4 or IPv6 address");
    }
  }
  char proto[8];
  if (get_string(o, "protocol", field, proto, sizeof(proto), err) < 0) return -1;
  if (proto[0] == '\0' || strcmp(proto, "tcp") == 0) {
    out->proto = IPPROTO_TCP;
  } else if (strcmp(proto, "udp") == 0) {
    out->proto = IPPROTO_UDP;
  } else {
    char f[160];
    snprintf(f, sizeof(f), "%s.protocol", field);
    return bad(err, f, "must be tcp or udp");
  }
  if (get_bool(o, "requireLocalPort", field, &out->require_local, err) < 0) return -1;
  if (get_string(o, "label", field, out->label, sizeof(out->label), err) < 0) return -1;
  char source[16];
  if (get_string(o, "source", field, source, sizeof(source), err) < 0) return -1;
  if (source[0] == '\0')
    out->source = default_source;
  else if (strcmp(source, "config") == 0)
    out->source = SRC_CONFIG;
  else if (strcmp(source, "cli") == 0)
    out->source = SRC_CLI;
  else if (strcmp(source, "auto") == 0)
    out->source = SRC_AUTO;
  else {
    char f[160];
    snprintf(f, sizeof(f), "%s.source", field);
    return bad(err, f, "must be config, cli or auto");
  }
  return 0;
}

static int parse_auto(json_t *a, struct dv_ports_spec *ps, struct dv_error *err) {
  const char *field = "devenv.ports.autoForward";
  if (!json_is_object(a)) return bad(err, field, "must be an object");
  if (get_bool(a, "enabled", field, &ps->auto_enabled, err) < 0) return -1;
  if (get_bool(a, "ignoreOthers", field, &ps->ignore_others, err) < 0) return -1;
  json_t *ign = json_object_get(a, "ignore");
  if (ign && !json_is_null(ign)) {
    if (!json_is_array(ign)) return bad(err, "devenv.ports.autoForward.ignore", "must be an array of ports");
    ps->n_ignore = json_array_size(ign);
    ps->ignore = calloc(ps->n_ignore + 1, sizeof(uint16_t));
    if (ps->ignore == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
    for (size_t i = 0; i < ps->n_ignore; i++) {
      json_t *v = json_array_get(ign, i);
      if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
        return bad(err, "devenv.ports.autoForward.ignore", "must hold integers from 1 to 65535");
      ps->ignore[i] = (uint16_t)json_integer_value(v);
    }
  }
  json_t *attrs = json_object_get(a, "attributes");
  if (attrs && !json_is_null(attrs)) {
    if (!json_is_array(attrs)) return bad(err, "devenv.ports.autoForward.attributes", "must be an array");
    ps->n_attrs = json_array_size(attrs);
    ps->attrs = calloc(ps->n_attrs + 1, sizeof(*ps->attrs));
    if (ps->attrs == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
    for (size_t i = 0; i < ps->n_attrs; i++) {
      json_t *o = json_array_get(attrs, i);
      char f[96];
      snprintf(f, sizeof(f), "devenv.ports.autoForward.attributes[%zu]", i);
      if (!json_is_object(o)) return bad(err, f, "must be an object");
      int from, to;
      if (get_port(o, "from", f, true, 1, &from, err) < 0 || get_port(o, "to", f, false, 1, &to, err) < 0) return -1;
      struct dv_port_attr *at = &ps->attrs[i];
      at->from = (uint16_t)from;
      at->to = (uint16_t)(to < 0 ? from : to);
      if (at->to < at->from) return bad(err, f, "has to below from");
      if (get_bool(o, "requireLocalPort", f, &at->require_local, err) < 0) return -1;
      if (get_bool(o, "ignore", f, &at->ignore, err) < 0) return -1;
      if (get_string(o, "label", f, at->label, sizeof(at->label), err) < 0) return -1;
    }
  }
  return 0;
}

int dv_ports_parse(json_t *ports, struct dv_ports_spec **out, struct dv_error *err) {
  *out = NULL;
  if (ports == NULL || json_is_null(ports)) return 0;
  if (!json_is_object(ports)) return bad(err, "devenv.ports", "must be an object");
  struct dv_ports_spec *ps = calloc(1, sizeof(*ps));
  if (ps == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  *out = ps; /* lives as long as the spec (the monitor's lifetime) */
  json_t *fw = json_object_get(ports, "forwards");
  if (fw && !json_is_null(fw)) {
    if (!json_is_array(fw)) return bad(err, "devenv.ports.forwards", "must be an array");
    ps->n_fwds = json_array_size(fw);
    ps->fwds = calloc(ps->n_fwds + 1, sizeof(*ps->fwds));
    if (ps->fwds == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
    for (size_t i = 0; i < ps->n_fwds; i++) {
      char f[64];
      snprintf(f, sizeof(f), "devenv.ports.forwards[%zu]", i);
      if (parse_fwd(json_array_get(fw, i), f, SRC_CONFIG, &ps->fwds[i], err) < 0) return -1;
    }
  }
  json_t *a = json_object_get(ports, "autoForward");
  if (a && !json_is_null(a) && parse_auto(a, ps, err) < 0) return -1;
  return 0;
}

/* ---- state and events --------------------------------------------------------------------- */

const char *fwd_source_name(uint8_t source) {
  return source == SRC_AUTO ? "auto" : source == SRC_CLI ? "cli" : "config";
}

json_t *fwd_rule_json(const struct fwd_rule *r) {
  json_t *ips = json_array();
  for (int i = 0; i < r->n_listen; i++) json_array_append_new(ips, json_string(r->laddr[i]));
  json_t *o = json_pack("{s:i,s:s,s:o,s:i,s:s,s:s,s:s}", "containerPort", r->req.container_port, "hostIp",
                        r->n_listen > 0 ? r->laddr[0] : "", "hostIps", ips, "hostPort", r->host_port, "protocol",
                        r->req.proto == IPPROTO_UDP ? "udp" : "tcp", "source", fwd_source_name(r->req.source), "since",
                        r->since);
  if (o && r->req.label[0]) json_object_set_new(o, "label", json_string(r->req.label));
  if (o && r->req.require_local) json_object_set_new(o, "requireLocalPort", json_true());
  return o;
}

void fwd_state_write(struct dv_fwd *f) {
  json_t *list = json_array();
  for (struct fwd_rule *r = f->rules; r; r = r->next) json_array_append_new(list, fwd_rule_json(r));
  json_t *st = json_pack("{s:i,s:o,s:{s:b},s:o}", "monitorPid", (int)getpid(), "forwards", list, "autoForward",
                         "enabled", f->auto_on, "control", json_string("ports.sock"));
  if (st == NULL) return;
  char *text = json_dumps(st, JSON_COMPACT);
  json_decref(st);
  if (text == NULL) return;
  int fd = openat(f->bundle_fd, ".ports.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd >= 0) {
    int rc = dv_write_all(fd, text, strlen(text));
    if (rc == 0) rc = dv_write_all(fd, "\n", 1);
    close(fd);
    if (rc == 0) renameat(f->bundle_fd, ".ports.json.tmp", f->bundle_fd, "ports.json");
    else unlinkat(f->bundle_fd, ".ports.json.tmp", 0);
  }
  free(text);
}

void fwd_log_event(struct dv_fwd *f, const char *event, const struct fwd_rule *r, const struct dv_port_fwd *req,
                   const char *code, const char *message) {
  if (f->log_fd < 0) {
    f->log_fd = openat(f->bundle_fd, "ports.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f->log_fd < 0) return;
  }
  struct stat st;
  if (fstat(f->log_fd, &st) == 0 && st.st_size > LOG_ROTATE_BYTES) {
    renameat(f->bundle_fd, "ports.log", f->bundle_fd, "ports.log.1");
    close(f->log_fd);
    f->log_fd = openat(f->bundle_fd, "ports.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f->log_fd < 0) return;
  }
  char now[48];
  dv_iso_now(now, sizeof(now));
  json_t *o = json_pack("{s:s,s:s}", "time", now, "event", event);
  if (o == NULL) return;
  if (r) {
    json_t *rj = fwd_rule_json(r);
    if (rj) {
      json_object_del(rj, "since");
      json_object_update(o, rj);
      json_decref(rj);
    }
  }
  if (r == NULL && req) {
    json_object_set_new(o, "containerPort", json_integer(req->container_port));
    json_object_set_new(o, "protocol", json_string(req->proto == IPPROTO_UDP ? "udp" : "tcp"));
    json_object_set_new(o, "source", json_string(fwd_source_name(req->source)));
    if (req->host_port) json_object_set_new(o, "hostPort", json_integer(req->host_port));
    if (req->label[0]) json_object_set_new(o, "label", json_string(req->label));
  }
  if (code) json_object_set_new(o, "code", json_string(code));
  if (message) json_object_set_new(o, "message", json_string(message));
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (text == NULL) return;
  size_t len = strlen(text);
  text[len] = '\n'; /* replaces the NUL: one write, so concurrent readers never see half a line */
  dv_write_all(f->log_fd, text, len + 1);
  free(text);
}

/* ---- control socket ------------------------------------------------------------------------- */

int fwd_ctl_open(struct dv_fwd *f, char *why, size_t why_len) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(why, why_len, "socket: %s", strerror(errno));
    return -1;
  }
  /* The bundle path may be longer than sun_path allows: bind through our fd of the bundle directory. */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/ports.sock", f->bundle_fd);
  unlinkat(f->bundle_fd, "ports.sock", 0);
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  umask(old);
  if (rc < 0 || listen(fd, 8) < 0) {
    snprintf(why, why_len, "bind ports.sock: %s", strerror(errno));
    close(fd);
    return -1;
  }
  f->ctl = fd;
  f->ctl_ep = (struct fwd_ep){.kind = EP_CTL_LISTEN, .owner = f};
  uint32_t reg = 0;
  fwd_ep_set(f, fd, &f->ctl_ep, &reg, EPOLLIN);
  return 0;
}

static void client_close(struct dv_fwd *f, struct fwd_ctl_client *c) {
  (void)f;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  free(c->buf);
  c->buf = NULL;
  c->len = 0;
}

void fwd_ctl_close(struct dv_fwd *f) {
  for (int i = 0; i < FWD_CTL_CLIENTS; i++) client_close(f, &f->clients[i]);
  if (f->ctl >= 0) {
    close(f->ctl);
    unlinkat(f->bundle_fd, "ports.sock", 0);
  }
  f->ctl = -1;
}

void fwd_ctl_accept(struct dv_fwd *f) {
  for (;;) {
    int fd = accept4(f->ctl, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN, or out of fds: the client waits in the backlog */
    }
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || (cred.uid != geteuid() && cred.uid != 0)) {
      close(fd);
      continue;
    }
    struct fwd_ctl_client *c = NULL;
    for (int i = 0; i < FWD_CTL_CLIENTS && c == NULL; i++)
      if (f->clients[i].fd < 0) c = &f->clients[i];
    if (c == NULL || (c->buf = malloc(FWD_CTL_BUF)) == NULL) {
      close(fd);
      continue;
    }
    c->fd = fd;
    c->len = 0;
    c->ep = (struct fwd_ep){.kind = EP_CTL_CLIENT, .owner = c};
    uint32_t reg = 0;
    if (fwd_ep_set(f, fd, &c->ep, &reg, EPOLLIN) < 0) client_close(f, c);
  }
}

static json_t *error_reply(int errnum, const char *message) {
  return json_pack("{s:b,s:s,s:i,s:s}", "ok", 0, "code", dv_errno_name(errnum), "errno", errnum, "message", message);
}

static json_t *do_add(struct dv_fwd *f, json_t *req) {
  struct dv_port_fwd fw;
  struct dv_error err;
  if (parse_fwd(json_object_get(req, "forward"), "forward", SRC_CLI, &fw, &err) < 0)
    return error_reply(EINVAL, strncmp(err.message, "invalid config.json: ", 21) == 0 ? err.message + 21 : err.message);
  for (struct fwd_rule *r = f->rules; r; r = r->next) {
    if (r->req.container_port != fw.container_port || r->req.proto != fw.proto) continue;
    if (r->req.source == SRC_AUTO) {
      fwd_log_event(f, "removed", r, NULL, NULL, "replaced by an explicit forward");
      fwd_rule_remove(f, r);
      break;
    }
    if (fw.host_port == 0 || fw.host_port == r->host_port) {
      char msg[160];
      snprintf(msg, sizeof(msg), "container port %u/%s is already forwarded to %s:%u", fw.container_port,
               fw.proto == IPPROTO_UDP ? "udp" : "tcp", r->laddr[0], r->host_port);
      return error_reply(EEXIST, msg);
    }
  }
  char warn[512];
  struct fwd_rule *r = fwd_rule_add(f, &fw, warn, sizeof(warn), &err);
  if (r == NULL) {
    fwd_log_event(f, "failed", NULL, &fw, dv_errno_name(err.errnum), err.message);
    return error_reply(err.errnum ? err.errnum : EINVAL, err.message);
  }
  fwd_log_event(f, "forwarded", r, NULL, NULL, warn[0] ? warn : NULL);
  fwd_state_write(f);
  json_t *out = json_pack("{s:b,s:o}", "ok", 1, "forward", fwd_rule_json(r));
  if (out && warn[0]) json_object_set_new(out, "warning", json_string(warn));
  return out;
}

static json_t *do_remove(struct dv_fwd *f, json_t *req) {
  json_t *cp = json_object_get(req, "containerPort");
  json_t *hp = json_object_get(req, "hostPort");
  const char *proto = json_string_value(json_object_get(req, "protocol"));
  if (!json_is_integer(cp) || json_integer_value(cp) < 1 || json_integer_value(cp) > 65535)
    return error_reply(EINVAL, "containerPort must be an integer from 1 to 65535");
  uint8_t p = proto && strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
  uint16_t port = (uint16_t)json_integer_value(cp);
  json_t *removed = json_array();
  struct fwd_rule *r = f->rules;
  while (r) {
    struct fwd_rule *next = r->next;
    if (r->req.container_port == port && r->req.proto == p &&
        (!json_is_integer(hp) || json_integer_value(hp) == r->host_port)) {
      json_array_append_new(removed, fwd_rule_json(r));
      if (r->req.source == SRC_AUTO) fwd_auto_skip(f, port); /* do not bring it back at the next scan */
      fwd_log_event(f, "removed", r, NULL, NULL, "removed on request");
      fwd_rule_remove(f, r);
    }
    r = next;
  }
  if (json_array_size(removed) == 0) {
    json_decref(removed);
    char msg[96];
    snprintf(msg, sizeof(msg), "container port %u/%s is not forwarded", port, p == IPPROTO_UDP ? "udp" : "tcp");
    return error_reply(ENOENT, msg);
  }
  fwd_state_write(f);
  return json_pack("{s:b,s:o}", "ok", 1, "removed", removed);
}

static json_t *do_list(struct dv_fwd *f) {
  json_t *list = json_array();
  for (struct fwd_rule *r = f->rules; r; r = r->next) json_array_append_new(list, fwd_rule_json(r));
  return json_pack("{s:b,s:o,s:{s:b}}", "ok", 1, "forwards", list, "autoForward", "enabled", f->auto_on);
}

/* Connection states, for tests and debugging. */
static json_t *do_stats(struct dv_fwd *f) {
  json_t *conns = json_array();
  for (struct fwd_conn *c = f->conns; c; c = c->next)
    json_array_append_new(conns, json_pack("{s:i,s:b,s:[b,b],s:[b,b],s:[i,i],s:[i,i],s:[I,I]}", "containerPort", c->container_port,
                                           "connecting", c->connecting, "eof", c->eof[0], c->eof[1], "shut", c->shut[0],
                                           c->shut[1], "inPipe", (int)c->inpipe[0], (int)c->inpipe[1], "events", (int)c->reg[0],
                                           (int)c->reg[1], "moved", (json_int_t)c->moved[0], (json_int_t)c->moved[1]));
  return json_pack("{s:b,s:i,s:i,s:b,s:o}", "ok", 1, "maxConnections", (int)f->max_conns, "bulkPipes", (int)f->grown_pipes,
                   "paused", f->paused, "connections", conns);
}

static json_t *handle(struct dv_fwd *f, const char *line, size_t len) {
  json_error_t jerr;
  json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
  if (req == NULL || !json_is_object(req)) {
    if (req) json_decref(req);
    return error_reply(EINVAL, "the request must be a JSON object on one line");
  }
  const char *op = json_string_value(json_object_get(req, "op"));
  json_t *out;
  if (op && strcmp(op, "add") == 0)
    out = do_add(f, req);
  else if (op && strcmp(op, "remove") == 0)
    out = do_remove(f, req);
  else if (op && strcmp(op, "list") == 0)
    out = do_list(f);
  else if (op && strcmp(op, "stats") == 0)
    out = do_stats(f);
  else
    out = error_reply(EINVAL, "op must be add, remove, list or stats");
  json_decref(req);
  return out;
}

static bool reply(struct fwd_ctl_client *c, json_t *out) {
  if (out == NULL) out = error_reply(ENOMEM, "out of memory");
  char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
  if (out) json_decref(out);
  if (text == NULL) return false;
  size_t len = strlen(text);
  text[len] = '\n';
  ssize_t n = send(c->fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  free(text);
  return n == (ssize_t)(len + 1); /* a client that does not read its answer is dropped */
}

void fwd_ctl_client_ready(struct dv_fwd *f, struct fwd_ctl_client *c) {
  if (c->fd < 0) return;
  ssize_t n = recv(c->fd, c->buf + c->len, FWD_CTL_BUF - c->len, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    client_close(f, c);
    return;
  }
  c->len += (size_t)n;
  for (;;) {
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl == NULL) break;
    size_t line = (size_t)(nl - c->buf);
    json_t *out = handle(f, c->buf, line);
    memmove(c->buf, nl + 1, c->len - line - 1);
    c->len -= line + 1;
    if (!reply(c, out)) {
      client_close(f, c);
      return;
    }
  }
  if (c->len == FWD_CTL_BUF) {
    reply(c, error_reply(EMSGSIZE, "request too long"));
    client_close(f, c);
  }
}
