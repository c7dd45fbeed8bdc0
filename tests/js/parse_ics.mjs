// Reads an ICS document on stdin and prints, as JSON, each VEVENT's UID and its start and end in UTC,
// as Mozilla's ical.js (Thunderbird's parser) computes them from the file's own VTIMEZONEs.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const component = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));

for (const vtimezone of component.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
}

const events = component.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    summary: event.summary,
    tzid: vevent.getFirstProperty("dtstart").getParameter("tzid") || null,
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
  };
});
process.stdout.write(JSON.stringify({ method: component.getFirstPropertyValue("method"), events }));
