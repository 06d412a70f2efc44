// Types of web/client.js (the usage comment at its top is the reference), for the ES module
// (client.mjs) and the CommonJS form (client.js in node and bundlers). A plain
// <script src="client.js"> defines the same class as the global LiveFeed.

export interface FeedItem {
  /** Integer below 2^53, strictly increasing across the server's channels. */
  id: number;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  channel: string;
  /** Present only when the publisher gave one. */
  type?: string;
  data: unknown;
}

export type FeedStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'paused' | 'error' | 'closed';
export type TransportName = 'sse' | 'longpoll';

export interface StatusDetail {
  transport: TransportName;
  /** With `shared`: whether this tab holds the connection or mirrors the leader. */
  role?: 'leader' | 'follower';
  /** 'reconnecting': ms until the next attempt. */
  retryIn?: number;
  /** 'reconnecting' and 'error': what went wrong. */
  error?: Error;
}

export interface TruncatedNotice {
  /** Items before this cursor may be missing. */
  cursor: number | null;
  transport: TransportName;
}

/** What a failed attempt reports through the 'error' event. */
export interface FeedError extends Error {
  status?: number;
  retryAfter?: number | null;
  unauthorized?: boolean;
  fatal?: boolean;
}

/** A truncated notice as a transport reports it. */
export interface TransportNotice {
  cursor: number | null;
  end: number | null;
  exact: boolean;
}

export interface TransportCallbacks {
  onOpen(): void;
  onTruncated(notice: TransportNotice): void;
  onItems(items: FeedItem[], cursor: number | null): void;
  onEnd(): void;
  onError(err: FeedError): void;
  onWarning(err: Error): void;
  onRetry(ms: number): void;
}

export interface TransportRequest {
  channels: string[];
  token: string | null;
  quick: boolean;
}

/** Testing hook: a transport has one shape. */
export interface Transport {
  open(cursor: number | null, callbacks: TransportCallbacks, request: TransportRequest): { abort(): void };
}

export interface LiveFeedOptions {
  /** Server base URL; '' (default) is the page's origin. */
  url?: string;
  /** Channels to follow; none means the server's default channel. */
  channels?: string[] | string;
  /** 0: everything the server still holds; absent: only what is published from now on. */
  since?: number;
  transport?: 'auto' | TransportName;
  /** One connection for the tabs of this origin that follow the same url and channels. */
  shared?: boolean;
  /** Called before each connection and after a 401 or an `unauthorized` event. */
  getToken?: () => string | null | undefined | PromiseLike<string | null | undefined>;
  /** No connection while the page is hidden. */
  pauseWhenHidden?: boolean;
  /** sessionStorage key under which the cursor is kept across reloads. */
  storageKey?: string;
  /** Seconds the server may hold a long-poll. */
  pollTimeout?: number;
  /** ms to wait for a stream to open (5000). */
  openTimeout?: number;
  /** ms after which an unanswered long-poll is re-sent. */
  pollWatchdog?: number;
  /** Retry delay bounds in ms (1000, 30000). */
  minBackoff?: number;
  maxBackoff?: number;
  /** Testing hooks. */
  transports?: { longpoll?: Transport; sse?: Transport };
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void };
  random?: () => number;
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  environment?: {
    window?: EventTarget | null;
    document?: (EventTarget & { visibilityState?: string }) | null;
    locks?: LockManager | null;
    BroadcastChannel?: { new (name: string): BroadcastChannel } | null;
  };
}

export interface LiveFeedEvents {
  item: (item: FeedItem) => void;
  status: (status: FeedStatus, detail: StatusDetail) => void;
  truncated: (notice: TruncatedNotice) => void;
  error: (err: FeedError) => void;
}

export declare class LiveFeed {
  constructor(options?: LiveFeedOptions);
  readonly status: FeedStatus;
  /** Where the next connection resumes; null before anything was seen. */
  readonly cursor: number | null;
  readonly channels: string[];
  readonly transport: TransportName;
  on<E extends keyof LiveFeedEvents>(name: E, listener: LiveFeedEvents[E]): this;
  off<E extends keyof LiveFeedEvents>(name: E, listener: LiveFeedEvents[E]): this;
  start(): this;
  /** Adds a channel from the present, or after `cursor`; resolves once it is followed. */
  subscribe(channel: string, cursor?: number): Promise<void>;
  unsubscribe(channel: string): void;
  close(): void;
}
