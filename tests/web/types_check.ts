// Compiled by tsc (never run): web/client.d.ts must accept what the usage comment of
// client.js documents, and refuse what it does not (each @ts-expect-error must be an error).
import { LiveFeed, type FeedItem, type FeedStatus, type StatusDetail } from '../../web/client.js';

const feed = new LiveFeed({
  url: 'https://feed.example',
  channels: ['news', 'sport'],
  since: 0,
  transport: 'auto',
  shared: true,
  pauseWhenHidden: true,
  getToken: async () => 'token',
  storageKey: 'news-cursor',
  pollTimeout: 20,
  minBackoff: 500,
  maxBackoff: 60000,
});
new LiveFeed({ channels: 'a,b', getToken: () => null });
new LiveFeed();

feed
  .on('item', (item: FeedItem) => {
    const id: number = item.id;
    const type: string | undefined = item.type;
    console.log(id, type, item.channel, item.timestamp, item.data);
  })
  .on('status', (status: FeedStatus, detail: StatusDetail) => {
    if (status === 'reconnecting') console.log(detail.retryIn, detail.error?.message);
    if (detail.role === 'follower') console.log(detail.transport);
  })
  .on('truncated', ({ cursor, transport }) => console.log(cursor, transport))
  .on('error', (err) => console.log(err.status, err.retryAfter))
  .start();

const ready: Promise<void> = feed.subscribe('weather');
void feed.subscribe('archive', 0);
feed.unsubscribe('sport');
const cursor: number | null = feed.cursor;
const channels: string[] = feed.channels;
const transport: 'sse' | 'longpoll' = feed.transport;
console.log(ready, cursor, channels, transport);
feed.close();

// @ts-expect-error: no such event
feed.on('message', () => {});
// @ts-expect-error: an item listener gets an item, not a string
feed.on('item', (item: string) => console.log(item));
// @ts-expect-error: no such transport
new LiveFeed({ transport: 'websocket' });
// @ts-expect-error: a cursor is a number
void feed.subscribe('news', '5');
// @ts-expect-error: status is read-only
feed.status = 'live';
