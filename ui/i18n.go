package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/catalog"
)

type contextT = context.Context

// Languages: English and German, chosen by Accept-Language.

// negotiate picks "de" or "en" from an Accept-Language header, as the
// API does (catalog.Negotiate).
func negotiate(header string) string { return string(catalog.Negotiate(header)) }

// label returns the key's text in lang (English when German has none).
func label(lang, key string) string {
	l, ok := labels[key]
	if !ok {
		return key
	}
	if lang == "de" && l[1] != "" {
		return l[1]
	}
	return l[0]
}

// fieldMessage is a validation message of the API in lang, from the
// message catalogue.
func fieldMessage(lang string, fe hookd.FieldError) string {
	return catalog.FieldMessage(catalog.Lang(lang), fe)
}

// errorMessage is the client-safe message of err in lang, from the message
// catalogue.
func errorMessage(lang string, err error) string {
	return catalog.ErrorMessage(catalog.Lang(lang), err)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func jsonIndent(b *bytes.Buffer, raw []byte) error { return json.Indent(b, raw, "", "  ") }

// labels are the dashboard's words: key → English, German.
var labels = map[string][2]string{
	"app.name":                  {"hookd", "hookd"},
	"app.skip":                  {"Skip to content", "Zum Inhalt springen"},
	"nav.overview":              {"Overview", "Übersicht"},
	"nav.webhooks":              {"Webhooks", "Webhooks"},
	"nav.messages":              {"Messages", "Nachrichten"},
	"nav.events":                {"Events", "Ereignisse"},
	"nav.keys":                  {"API keys", "API-Schlüssel"},
	"nav.tenants":               {"All tenants", "Alle Mandanten"},
	"nav.main":                  {"Main", "Hauptnavigation"},
	"who.root":                  {"Root token", "Root-Token"},
	"who.portal":                {"Portal", "Portal"},
	"who.key":                   {"Key", "Schlüssel"},
	"who.readonly":              {"read-only", "nur lesen"},
	"logout":                    {"Sign out", "Abmelden"},
	"login.title":               {"Sign in", "Anmelden"},
	"login.lead":                {"Sign in with a tenant API key or the root token. The token is exchanged for a session cookie and never kept in the page.", "Melden Sie sich mit einem API-Schlüssel eines Mandanten oder dem Root-Token an. Das Token wird gegen ein Sitzungs-Cookie getauscht und nie in der Seite gespeichert."},
	"login.token":               {"API key or root token", "API-Schlüssel oder Root-Token"},
	"login.submit":              {"Sign in", "Anmelden"},
	"login.empty":               {"Enter a token.", "Bitte ein Token eingeben."},
	"login.invalid":             {"This token is not valid: it is unknown, or its key was revoked.", "Dieses Token ist ungültig: unbekannt, oder der Schlüssel wurde widerrufen."},
	"portal.invalid":            {"This portal link is not valid: it was used already or has expired. Ask for a new one.", "Dieser Portal-Link ist ungültig: bereits benutzt oder abgelaufen. Bitte fordern Sie einen neuen an."},
	"error.title":               {"Something went wrong", "Etwas ist schiefgegangen"},
	"error.notfound":            {"Not found", "Nicht gefunden"},
	"error.notfound.text":       {"There is nothing here, or it is not yours to see.", "Hier gibt es nichts, oder es ist für Sie nicht sichtbar."},
	"error.forbidden":           {"Not allowed", "Nicht erlaubt"},
	"error.forbidden.text":      {"Your session may not do this. If you came from a form, reload the page and try again.", "Ihre Sitzung darf das nicht. Kamen Sie von einem Formular, laden Sie die Seite neu und versuchen Sie es noch einmal."},
	"error.internal":            {"An internal error occurred; it was logged. Try again in a moment.", "Ein interner Fehler ist aufgetreten und wurde protokolliert. Versuchen Sie es gleich noch einmal."},
	"error.back":                {"Back to the overview", "Zurück zur Übersicht"},
	"done.signed_out":           {"You are signed out.", "Sie sind abgemeldet."},
	"done.created":              {"Webhook created.", "Webhook angelegt."},
	"done.saved":                {"Changes saved.", "Änderungen gespeichert."},
	"done.enabled":              {"Webhook enabled: waiting messages are delivered again.", "Webhook aktiviert: wartende Nachrichten werden wieder zugestellt."},
	"done.disabled":             {"Webhook disabled: new messages wait until it is enabled.", "Webhook deaktiviert: neue Nachrichten warten, bis er wieder aktiv ist."},
	"done.unsuspended":          {"Webhook unsuspended: held messages are released in order.", "Sperre aufgehoben: zurückgehaltene Nachrichten werden der Reihe nach freigegeben."},
	"done.deleted":              {"Webhook deleted; its waiting messages were aborted.", "Webhook gelöscht; seine wartenden Nachrichten wurden abgebrochen."},
	"done.rotated":              {"Secret rotated. The previous secret keeps signing for 24 hours.", "Secret erneuert. Das bisherige signiert noch 24 Stunden mit."},
	"done.recovered":            {"{n} failed messages queued again.", "{n} fehlgeschlagene Nachrichten erneut eingeplant."},
	"done.retry":                {"Retry scheduled now.", "Neuer Versuch sofort eingeplant."},
	"done.abort":                {"Message aborted.", "Nachricht abgebrochen."},
	"done.resolve":              {"Message marked resolved.", "Nachricht als erledigt markiert."},
	"done.revoked":              {"Key revoked: it no longer works.", "Schlüssel widerrufen: er gilt nicht mehr."},
	"state.created":             {"created", "erstellt"},
	"state.pending":             {"pending", "wartend"},
	"state.retrying":            {"retrying", "erneuter Versuch"},
	"state.successful":          {"successful", "erfolgreich"},
	"state.failed":              {"failed", "fehlgeschlagen"},
	"state.aborted":             {"aborted", "abgebrochen"},
	"state.resolved":            {"resolved", "erledigt"},
	"overview.tenants":          {"Tenants", "Mandanten"},
	"overview.lead":             {"Every tenant with its webhooks and its messages of the last 24 hours, by state.", "Alle Mandanten mit ihren Webhooks und den Nachrichten der letzten 24 Stunden nach Status."},
	"overview.tenant":           {"Tenant", "Mandant"},
	"overview.webhooks":         {"Webhooks", "Webhooks"},
	"overview.suspended":        {"Suspended", "Gesperrt"},
	"overview.failing":          {"Failing", "Fehlerhaft"},
	"overview.empty":            {"No tenants yet. Create one with POST /v1/tenants.", "Noch keine Mandanten. Legen Sie einen mit POST /v1/tenants an."},
	"overview.day":              {"Messages of the last 24 hours", "Nachrichten der letzten 24 Stunden"},
	"overview.deliveries":       {"Deliveries, last 24 hours", "Zustellungen, letzte 24 Stunden"},
	"overview.attempts":         {"attempts", "Versuche"},
	"overview.success":          {"success", "Erfolg"},
	"overview.attention":        {"Needs attention", "Braucht Aufmerksamkeit"},
	"overview.allgood":          {"No webhook is failing or suspended.", "Kein Webhook schlägt fehl oder ist gesperrt."},
	"overview.capped":           {"Counts stop at {n}; a count with + has more.", "Zählungen enden bei {n}; ein + heißt: mehr."},
	"more":                      {"Next page", "Nächste Seite"},
	"newest":                    {"Newest", "Neueste"},
	"older":                     {"Older", "Ältere"},
	"filter":                    {"Filter", "Filtern"},
	"filter.clear":              {"Clear filters", "Filter zurücksetzen"},
	"any":                       {"any", "alle"},
	"yes":                       {"yes", "ja"},
	"no":                        {"no", "nein"},
	"webhooks.lead":             {"Where hookd delivers this tenant's events, and how each target is doing.", "Wohin hookd die Ereignisse dieses Mandanten zustellt, und wie es jedem Ziel geht."},
	"webhooks.new":              {"New webhook", "Neuer Webhook"},
	"webhooks.empty":            {"No webhooks yet. Create the first to start delivering events.", "Noch keine Webhooks. Legen Sie den ersten an, um Ereignisse zuzustellen."},
	"webhooks.nomatch":          {"No webhook matches these filters.", "Kein Webhook passt zu diesen Filtern."},
	"webhooks.name":             {"Name or target", "Name oder Ziel"},
	"webhooks.types":            {"Event types", "Ereignistypen"},
	"webhooks.status":           {"Status", "Status"},
	"webhooks.rate1h":           {"Success, 1 h", "Erfolg, 1 h"},
	"webhooks.streak":           {"Failing since", "Fehler seit"},
	"webhooks.day":              {"Last 24 h", "Letzte 24 h"},
	"webhooks.url":              {"URL starts with", "URL beginnt mit"},
	"webhooks.search":           {"Name contains", "Name enthält"},
	"webhooks.enabled":          {"Enabled", "Aktiviert"},
	"webhooks.suspended":        {"Suspended", "Gesperrt"},
	"webhooks.eventtype":        {"Receives event type", "Empfängt Ereignistyp"},
	"badge.active":              {"active", "aktiv"},
	"badge.disabled":            {"disabled", "deaktiviert"},
	"badge.suspended":           {"suspended", "gesperrt"},
	"badge.failing":             {"failing", "fehlerhaft"},
	"webhook.new":               {"New webhook", "Neuer Webhook"},
	"webhook.settings":          {"Settings", "Einstellungen"},
	"webhook.health":            {"Health", "Zustand"},
	"webhook.hour":              {"Last hour", "Letzte Stunde"},
	"webhook.day":               {"Last 24 hours", "Letzte 24 Stunden"},
	"webhook.successrate":       {"Success rate", "Erfolgsquote"},
	"webhook.p50":               {"p50 latency", "Latenz p50"},
	"webhook.p99":               {"p99 latency", "Latenz p99"},
	"webhook.attempts":          {"Attempts", "Versuche"},
	"webhook.suspendedsince":    {"Suspended since {n}: its failure streak lasted longer than allowed. Messages are held, not lost; fix the target, then unsuspend to release them in order.", "Gesperrt seit {n}: die Fehlerserie dauerte länger als erlaubt. Nachrichten werden zurückgehalten, nicht verworfen; beheben Sie das Ziel und heben Sie die Sperre auf, um sie der Reihe nach freizugeben."},
	"webhook.failingsince":      {"Every attempt since {n} failed. It is suspended when the streak lasts longer than its suspend-after.", "Seit {n} ist jeder Versuch fehlgeschlagen. Dauert die Serie länger als die Sperrfrist, wird er gesperrt."},
	"webhook.disabledtext":      {"Disabled: new messages are stored and wait; enabling it delivers them.", "Deaktiviert: neue Nachrichten werden gespeichert und warten; beim Aktivieren werden sie zugestellt."},
	"webhook.enable":            {"Enable", "Aktivieren"},
	"webhook.disable":           {"Disable", "Deaktivieren"},
	"webhook.unsuspend":         {"Unsuspend", "Sperre aufheben"},
	"webhook.delete":            {"Delete webhook", "Webhook löschen"},
	"webhook.delete.text":       {"Deleting aborts its waiting messages. This cannot be undone.", "Löschen bricht seine wartenden Nachrichten ab. Das lässt sich nicht rückgängig machen."},
	"webhook.delete.confirm":    {"Delete this webhook and abort its waiting messages?", "Diesen Webhook löschen und seine wartenden Nachrichten abbrechen?"},
	"webhook.messages":          {"Messages →", "Nachrichten →"},
	"webhook.save":              {"Save changes", "Änderungen speichern"},
	"webhook.create":            {"Create webhook", "Webhook anlegen"},
	"webhook.errors":            {"The webhook was not saved. Correct the fields marked below.", "Der Webhook wurde nicht gespeichert. Bitte korrigieren Sie die markierten Felder."},
	"webhook.danger":            {"Danger zone", "Gefahrenbereich"},
	"field.name":                {"Name", "Name"},
	"field.description":         {"Description", "Beschreibung"},
	"field.url":                 {"Target URL", "Ziel-URL"},
	"field.url.help":            {"https://…, where hookd POSTs each event.", "https://…, an die hookd jedes Ereignis per POST sendet."},
	"field.enabled":             {"Enabled", "Aktiviert"},
	"field.event_types":         {"Event types", "Ereignistypen"},
	"field.event_types.help":    {"One per line: an exact type, a prefix like Unit.*, or * for all.", "Einer pro Zeile: ein genauer Typ, ein Präfix wie Unit.* oder * für alle."},
	"field.filter":              {"Attribute filter", "Attributfilter"},
	"field.filter.help":         {"key=value per line; every pair must match the event's attributes.", "schlüssel=wert pro Zeile; jedes Paar muss zu den Attributen passen."},
	"field.headers":             {"Custom headers", "Eigene Header"},
	"field.headers.help":        {"Name: value per line, sent with every delivery.", "Name: Wert pro Zeile, mit jeder Zustellung gesendet."},
	"field.auth_type":           {"Authentication", "Authentifizierung"},
	"field.auth.none":           {"none", "keine"},
	"field.auth_username":       {"Username", "Benutzername"},
	"field.auth_password":       {"Password", "Passwort"},
	"field.auth_token":          {"Bearer token", "Bearer-Token"},
	"field.auth.keep":           {"Leave empty to keep the stored one.", "Leer lassen, um das gespeicherte zu behalten."},
	"field.timeout_ms":          {"Timeout (ms)", "Zeitlimit (ms)"},
	"field.max_retries":         {"Max retries", "Max. Wiederholungen"},
	"field.retry_schedule":      {"Retry schedule", "Wiederholungsplan"},
	"field.retry_schedule.help": {"Comma-separated delays like 5m, 1h; empty: the server's default.", "Verzögerungen mit Komma, z. B. 5m, 1h; leer: Standard des Servers."},
	"field.grouped":             {"Deliver each group in order", "Jede Gruppe der Reihe nach zustellen"},
	"field.continue_on_failure": {"Continue a group after a failure", "Gruppe nach einem Fehler fortsetzen"},
	"field.suspend_after":       {"Suspend after failing for", "Sperren nach Fehlern seit"},
	"field.rate_limit":          {"Rate limit (per second)", "Ratenlimit (pro Sekunde)"},
	"field.rate_limit.help":     {"Empty: unlimited.", "Leer: unbegrenzt."},
	"field.secret":              {"Signing secret", "Signatur-Secret"},
	"field.secret.help":         {"Empty: hookd makes one.", "Leer: hookd erzeugt eines."},
	"form.filter.line":          {"line {n}: write key=value", "Zeile {n}: schlüssel=wert schreiben"},
	"form.headers.line":         {"line {n}: write Name: value", "Zeile {n}: Name: Wert schreiben"},
	"test.title":                {"Send a test call", "Testaufruf senden"},
	"test.lead":                 {"Sends one event now, even while disabled or suspended; a failing test never suspends the webhook.", "Sendet sofort ein Ereignis, auch wenn deaktiviert oder gesperrt; ein fehlgeschlagener Test sperrt den Webhook nie."},
	"test.type":                 {"Event type", "Ereignistyp"},
	"test.payload":              {"Payload (JSON)", "Nutzdaten (JSON)"},
	"test.send":                 {"Send test", "Test senden"},
	"test.answer":               {"Answer", "Antwort"},
	"test.badjson":              {"The payload is not valid JSON.", "Die Nutzdaten sind kein gültiges JSON."},
	"test.nodelivery":           {"Delivery is not running; no test call was sent.", "Die Zustellung läuft nicht; es wurde kein Test gesendet."},
	"secrets.title":             {"Signing secrets", "Signatur-Secrets"},
	"secrets.lead":              {"Receivers verify each delivery's signature with these. They are hidden until you ask.", "Empfänger prüfen damit die Signatur jeder Zustellung. Sie bleiben verborgen, bis Sie sie anfordern."},
	"secrets.reveal":            {"Reveal secrets", "Secrets anzeigen"},
	"secrets.rotate":            {"Rotate secret", "Secret erneuern"},
	"secrets.rotate.confirm":    {"Make a new secret? The current one keeps signing for 24 hours.", "Neues Secret erzeugen? Das aktuelle signiert noch 24 Stunden mit."},
	"secrets.masked":            {"whsec_•••••••• (hidden)", "whsec_•••••••• (verborgen)"},
	"recover.title":             {"Recover failed messages", "Fehlgeschlagene Nachrichten wiederholen"},
	"recover.lead":              {"Queues again every failed message of this webhook created in the window (UTC), with a fresh retry budget.", "Plant jede fehlgeschlagene Nachricht dieses Webhooks aus dem Zeitraum (UTC) erneut ein, mit neuem Versuchsbudget."},
	"recover.since":             {"From", "Von"},
	"recover.until":             {"Until", "Bis"},
	"recover.submit":            {"Recover", "Wiederholen"},
	"recover.confirm":           {"Queue every failed message of this window again?", "Alle fehlgeschlagenen Nachrichten dieses Zeitraums erneut einplanen?"},
	"recover.badtime":           {"must be a date and time", "muss Datum und Uhrzeit sein"},
	"messages.lead":             {"One message per event and webhook, newest first.", "Eine Nachricht pro Ereignis und Webhook, neueste zuerst."},
	"messages.webhook":          {"Webhook", "Webhook"},
	"messages.state":            {"State", "Status"},
	"messages.type":             {"Event type", "Ereignistyp"},
	"messages.group":            {"Group", "Gruppe"},
	"messages.window":           {"Created in", "Erstellt in"},
	"messages.id":               {"Go to id", "Zu ID"},
	"messages.created":          {"Created", "Erstellt"},
	"messages.attempts":         {"Attempts", "Versuche"},
	"messages.next":             {"Next attempt", "Nächster Versuch"},
	"messages.empty":            {"No messages in this window yet. Publish an event and its messages appear here.", "In diesem Zeitraum noch keine Nachrichten. Veröffentlichen Sie ein Ereignis, dann erscheinen sie hier."},
	"messages.nomatch":          {"No message matches these filters in this window.", "Keine Nachricht passt in diesem Zeitraum zu diesen Filtern."},
	"messages.scanned":          {"Searched the next {n} messages for these filters. Continue with older ones, or narrow the time window.", "Die nächsten {n} Nachrichten wurden durchsucht. Suchen Sie bei älteren weiter oder verkleinern Sie den Zeitraum."},
	"messages.live":             {"Updates live", "Aktualisiert sich live"},
	"window.1h":                 {"last hour", "letzte Stunde"},
	"window.24h":                {"last 24 hours", "letzte 24 Stunden"},
	"window.7d":                 {"last 7 days", "letzte 7 Tage"},
	"window.30d":                {"last 30 days", "letzte 30 Tage"},
	"window.all":                {"all time", "gesamter Zeitraum"},
	"message.event":             {"Event", "Ereignis"},
	"message.payload":           {"Payload", "Nutzdaten"},
	"message.bytes":             {"bytes", "Bytes"},
	"message.attempts":          {"Attempts", "Versuche"},
	"message.noattempts":        {"No attempt yet.", "Noch kein Versuch."},
	"message.number":            {"#", "Nr."},
	"message.time":              {"Started", "Beginn"},
	"message.status":            {"Status", "Status"},
	"message.duration":          {"Duration", "Dauer"},
	"message.error":             {"Error", "Fehler"},
	"message.trigger":           {"Trigger", "Auslöser"},
	"message.answer":            {"Receiver's answer", "Antwort des Empfängers"},
	"message.noanswer":          {"(empty)", "(leer)"},
	"message.retry":             {"Retry now", "Jetzt wiederholen"},
	"message.abort":             {"Abort", "Abbrechen"},
	"message.abort.confirm":     {"Abort this message? No further attempt will be made.", "Diese Nachricht abbrechen? Es folgt kein weiterer Versuch."},
	"message.resolve":           {"Mark resolved", "Als erledigt markieren"},
	"message.resolve.confirm":   {"Mark this message resolved? It will not be delivered.", "Diese Nachricht als erledigt markieren? Sie wird nicht zugestellt."},
	"message.successfulnote":    {"Delivered: a successful message is not sent again.", "Zugestellt: eine erfolgreiche Nachricht wird nicht erneut gesendet."},
	"message.webhookgone":       {"(deleted webhook)", "(gelöschter Webhook)"},
	"message.copy":              {"Copy", "Kopieren"},
	"message.lastError":         {"Last error", "Letzter Fehler"},
	"events.lead":               {"Every published event, newest first, with the messages it made.", "Alle veröffentlichten Ereignisse, neueste zuerst, mit ihren Nachrichten."},
	"events.type":               {"Type", "Typ"},
	"events.messages":           {"Messages", "Nachrichten"},
	"events.none":               {"no matching webhook", "kein passender Webhook"},
	"events.empty":              {"No events in this window.", "Keine Ereignisse in diesem Zeitraum."},
	"keys.lead":                 {"Keys for this tenant's systems. A token is shown once, when made.", "Schlüssel für die Systeme dieses Mandanten. Ein Token wird einmal gezeigt, beim Erstellen."},
	"keys.name":                 {"Name", "Name"},
	"keys.prefix":               {"Prefix", "Präfix"},
	"keys.scopes":               {"Scopes", "Geltungsbereiche"},
	"keys.created":              {"Created", "Erstellt"},
	"keys.used":                 {"Last used", "Zuletzt benutzt"},
	"keys.never":                {"never", "nie"},
	"keys.revoke":               {"Revoke", "Widerrufen"},
	"keys.revoke.confirm":       {"Revoke this key? Systems using it stop working.", "Diesen Schlüssel widerrufen? Systeme, die ihn nutzen, funktionieren nicht mehr."},
	"keys.new":                  {"Create a key", "Schlüssel erstellen"},
	"keys.create":               {"Create key", "Schlüssel erstellen"},
	"keys.token":                {"The new key's token. Copy it now: it is not shown again.", "Das Token des neuen Schlüssels. Jetzt kopieren: es wird nicht wieder angezeigt."},
	"keys.empty":                {"No keys yet.", "Noch keine Schlüssel."},
	"chart.rate":                {"Success rate per hour", "Erfolgsquote pro Stunde"},
	"chart.latency":             {"Latency per hour (p50 and p99)", "Latenz pro Stunde (p50 und p99)"},
	"chart.deliveries":          {"Deliveries per hour", "Zustellungen pro Stunde"},
	"chart.table":               {"Show the numbers", "Zahlen anzeigen"},
	"chart.hour":                {"Hour (UTC)", "Stunde (UTC)"},
	"chart.ok":                  {"successful", "erfolgreich"},
	"chart.failed":              {"failed", "fehlgeschlagen"},
	"chart.nodata":              {"No attempts in this window.", "Keine Versuche in diesem Zeitraum."},
	"chart.rate.desc":           {"{n} attempts in 24 hours.", "{n} Versuche in 24 Stunden."},
}
