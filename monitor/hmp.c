/*
 * DOC: the human monitor commands behind QMP's human-monitor-command
 *
 * vmwire has no HMP monitor of its own; QMP's human-monitor-command runs a
 * line through this small command table and returns what QEMU 7.2's HMP
 * would print, lines ending "\r\n":
 *
 *   info network       net/net.c's net_format_info_network()
 *   hostfwd_add [netdev_id] RULE, hostfwd_remove [netdev_id] RULE
 *                      net/slirp.c's run-time forwarding, QEMU's answers
 *   info               the info sub-commands, one "info NAME PARAMS -- HELP"
 *                      line each
 *   help|? [cmd]       the help of every command, or of one
 *
 * Parsing is QEMU's monitor_parse_command(): blanks (spaces, tabs) separate
 * words and are skipped; "info" takes a sub-command.  Errors are part of
 * the returned text, not QMP errors, with QEMU's words:
 *   unknown command: '<the line up to the unknown word>'
 *   <name>: extraneous characters at the end of line
 *   Try "help <the line up to the command>" for more information
 */
#include <string.h>

#include "net/hub.h"
#include "net/net.h"
#include "net/slirp.h"
#include "qapi-commands.h"

typedef struct HmpCommand HmpCommand;

struct HmpCommand {
    const char *name;           /* alternatives separated by '|' */
    const char *params;         /* shown by help */
    const char *help;
    /* Runs it; @args is the rest of the line, blanks skipped. */
    void (*run)(GString *out, const char *args);
    bool takes_args;            /* else extra words are an error */
    const HmpCommand *sub;      /* sub-commands (info's), or NULL */
};

static void hmp_info_network(GString *out, const char *args)
{
    net_format_info_network(out);
}

static void hmp_info_mac_table(GString *out, const char *args)
{
    net_hub_format_mac_table(out);
}

/*
 * hostfwd_add|hostfwd_remove [netdev_id] rule: one or two words (QEMU's
 * "arg1:s,arg2:s?").  False (with QEMU's complaint in @out) otherwise.
 */
static bool hmp_hostfwd_args(GString *out, const char *name,
                             const char *args, char **id, char **rule)
{
    g_auto(GStrv) words = g_strsplit_set(args, " \t\n\r\v\f", -1);
    GPtrArray *w = g_ptr_array_new();
    bool ok = true;

    for (char **p = words; *p; p++) {
        if (**p) {
            g_ptr_array_add(w, *p);
        }
    }
    *id = *rule = NULL;
    if (w->len == 0) {
        g_string_append_printf(out, "%s: string expected\n", name);
    } else if (w->len > 2) {
        g_string_append_printf(out, "%s: extraneous characters at the end "
                               "of line\n", name);
    }
    if (w->len == 0 || w->len > 2) {
        g_string_append_printf(out, "Try \"help %s\" for more "
                               "information\n", name);
        ok = false;
    } else {
        *id = w->len == 2 ? g_strdup(w->pdata[0]) : NULL;
        *rule = g_strdup(w->pdata[w->len - 1]);
    }
    g_ptr_array_unref(w);
    return ok;
}

static void hmp_hostfwd_add(GString *out, const char *args)
{
    g_autofree char *id = NULL;
    g_autofree char *rule = NULL;
    g_autoptr(GError) err = NULL;

    if (hmp_hostfwd_args(out, "hostfwd_add", args, &id, &rule) &&
        !net_slirp_hostfwd_add(id, rule, &err)) {
        g_string_append_printf(out, "%s\n", err->message);
    }
}

static void hmp_hostfwd_remove(GString *out, const char *args)
{
    g_autofree char *id = NULL;
    g_autofree char *rule = NULL;
    g_autoptr(GError) err = NULL;

    if (!hmp_hostfwd_args(out, "hostfwd_remove", args, &id, &rule)) {
        return;
    }
    if (net_slirp_hostfwd_remove(id, rule, &err)) {
        g_string_append_printf(out, "host forwarding rule for %s removed\n",
                               rule);
    } else {
        g_string_append_printf(out, "%s\n", err->message);
    }
}

static void hmp_help(GString *out, const char *args);
static void hmp_info_help(GString *out, const char *args);

static const HmpCommand hmp_info_commands[] = {
    { "network", "", "show the network state", hmp_info_network, false,
      NULL },
    { "mac-table", "", "show the MAC addresses hubs learned (vmwire)",
      hmp_info_mac_table, false, NULL },
    { .name = NULL },
};

static const HmpCommand hmp_commands[] = {
    { "help|?", "[cmd]", "show the help", hmp_help, true, NULL },
    { "info", "[subcommand]", "show various information about the system "
      "state", hmp_info_help, false, hmp_info_commands },
    { "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-"
      "[guestaddr]:guestport", "redirect TCP or UDP connections from host "
      "to guest (requires -net user)", hmp_hostfwd_add, true, NULL },
    { "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
      "remove host-to-guest TCP or UDP redirection", hmp_hostfwd_remove,
      true, NULL },
    { .name = NULL },
};

static bool hmp_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static const char *hmp_skip_blanks(const char *p)
{
    while (hmp_is_blank(*p)) {
        p++;
    }
    return p;
}

static const char *hmp_word_end(const char *p)
{
    while (*p && !hmp_is_blank(*p)) {
        p++;
    }
    return p;
}

/* Is the word [word, word + len) one of @name's '|' alternatives? */
static bool hmp_name_matches(const char *name, const char *word, size_t len)
{
    for (const char *alt = name; alt; ) {
        const char *bar = strchr(alt, '|');
        size_t alt_len = bar ? (size_t)(bar - alt) : strlen(alt);

        if (alt_len == len && strncmp(alt, word, len) == 0) {
            return true;
        }
        alt = bar ? bar + 1 : NULL;
    }
    return false;
}

static const HmpCommand *hmp_find(const HmpCommand *table, const char *word,
                                  size_t len)
{
    for (const HmpCommand *cmd = table; cmd->name; cmd++) {
        if (hmp_name_matches(cmd->name, word, len)) {
            return cmd;
        }
    }
    return NULL;
}

static void hmp_help_line(GString *out, const char *prefix,
                          const HmpCommand *cmd)
{
    g_string_append_printf(out, "%s%s %s -- %s\n", prefix, cmd->name,
                           cmd->params, cmd->help);
}

static void hmp_help_table(GString *out, const char *prefix,
                           const HmpCommand *table)
{
    for (const HmpCommand *cmd = table; cmd->name; cmd++) {
        hmp_help_line(out, prefix, cmd);
    }
}

static void hmp_info_help(GString *out, const char *args)
{
    hmp_help_table(out, "info ", hmp_info_commands);
}

/* help [WORD...]: the words name a command (and sub-command). */
static void hmp_help(GString *out, const char *args)
{
    g_auto(GStrv) words = g_strsplit_set(args, " \t\n\r\v\f", -1);
    g_autoptr(GString) path = g_string_new("");
    g_autoptr(GString) prefix = g_string_new("");
    const HmpCommand *table = hmp_commands;

    for (char **w = words; *w; w++) {
        const HmpCommand *cmd;

        if (!**w) {
            continue;
        }
        g_string_append_printf(path, "%s%s", path->len ? " " : "", *w);
        cmd = hmp_find(table, *w, strlen(*w));
        if (!cmd) {
            g_string_append_printf(out, "unknown command: '%s'\n",
                                   path->str);
            return;
        }
        if (!cmd->sub) {
            hmp_help_line(out, prefix->str, cmd);
            return;
        }
        g_string_append_printf(prefix, "%s ", cmd->name);
        table = cmd->sub;
    }
    hmp_help_table(out, prefix->str, table);
}

/* Find and run the command on @line, as QEMU's handle_hmp_command(). */
static void hmp_run(GString *out, const char *line)
{
    const HmpCommand *table = hmp_commands, *cmd = NULL;
    const char *p = hmp_skip_blanks(line);
    const char *cmd_end = p;

    while (*p) {
        const char *end = hmp_word_end(p);
        const HmpCommand *found = hmp_find(table, p, (size_t)(end - p));

        if (!found) {
            g_string_append_printf(out, "unknown command: '%.*s'\n",
                                   (int)(end - line), line);
            return;
        }
        cmd = found;
        cmd_end = end;
        p = hmp_skip_blanks(end);
        if (!cmd->sub || !*p) {
            break;
        }
        table = cmd->sub;
    }
    if (!cmd) {
        return;                 /* an empty line */
    }
    if (*p && !cmd->takes_args) {
        g_string_append_printf(out, "%s: extraneous characters at the end "
                               "of line\n", cmd->name);
        g_string_append_printf(out, "Try \"help %.*s\" for more "
                               "information\n", (int)(cmd_end - line), line);
        return;
    }
    cmd->run(out, p);
}

char *qmp_human_monitor_command(const char *command_line,
                                bool has_cpu_index, int64_t cpu_index,
                                GError **errp)
{
    g_autoptr(GString) out = g_string_new("");
    GString *crlf = g_string_new("");

    hmp_run(out, command_line);
    for (const char *c = out->str; *c; c++) {
        if (*c == '\n') {
            g_string_append_c(crlf, '\r');
        }
        g_string_append_c(crlf, *c);
    }
    return g_string_free(crlf, false);
}
