<?php
/**
 * Signed webhooks to the product when a post that carries a content id changes.
 *
 * Events: updated, trashed, restored (untrashed), deleted; plus "ping" from the test route.
 * One request may fire several hooks for one post (trashing also updates it): events are
 * collected per post during the request and the strongest one is sent at shutdown
 * (deleted > trashed > restored > updated), so the product gets one event per post per change.
 *
 * POST {product_url}/v1/webhooks/wordpress/{site_id}
 *   Content-Type: application/json
 *   X-SEO-Engine-Timestamp: <unix seconds>
 *   X-SEO-Engine-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>
 *   {"event", "post_id", "content_id", "status", "link", "modified_gmt", "timestamp", "nonce"}
 *
 * Delivery is best effort (non-blocking, short timeout, no retry): the product must also
 * reconcile by reading the posts it published.
 */

namespace SeoEngineCompanion;

if (!defined('ABSPATH')) {
    exit;
}

final class Webhooks
{
    private const RANK = ['updated' => 1, 'restored' => 2, 'trashed' => 3, 'deleted' => 4];

    /** @var array<int, array{event: string, payload: ?array}> */
    private static array $pending = [];
    private static bool $shutdown_hooked = false;

    public static function init(): void
    {
        add_action('wp_after_insert_post', [self::class, 'on_after_insert'], 10, 4);
        add_action('trashed_post', [self::class, 'on_trashed'], 10, 1);
        add_action('untrashed_post', [self::class, 'on_untrashed'], 10, 1);
        add_action('before_delete_post', [self::class, 'on_before_delete'], 10, 2);
    }

    /** @param \WP_Post $post */
    public static function on_after_insert($post_id, $post, $update, $post_before = null): void
    {
        // A new post is the product's own doing (or not ours yet): only updates are news.
        if ($update) {
            self::queue((int) $post_id, 'updated');
        }
    }

    public static function on_trashed($post_id): void
    {
        self::queue((int) $post_id, 'trashed');
    }

    public static function on_untrashed($post_id): void
    {
        self::queue((int) $post_id, 'restored');
    }

    /** The post and its meta are gone by shutdown: take the payload now. */
    public static function on_before_delete($post_id, $post = null): void
    {
        $post = $post instanceof \WP_Post ? $post : get_post((int) $post_id);
        if (!$post) {
            return;
        }
        $payload = self::payload($post, 'deleted');
        if ($payload !== null) {
            self::queue((int) $post->ID, 'deleted', $payload);
        }
    }

    private static function queue(int $post_id, string $event, ?array $payload = null): void
    {
        if ($post_id <= 0 || wp_is_post_revision($post_id) || wp_is_post_autosave($post_id)) {
            return;
        }
        if ($payload === null && content_id_of($post_id) === '') {
            return;
        }
        $current = self::$pending[$post_id] ?? null;
        if ($current !== null && self::RANK[$current['event']] > self::RANK[$event]) {
            return;
        }
        self::$pending[$post_id] = ['event' => $event, 'payload' => $payload];
        if (!self::$shutdown_hooked) {
            self::$shutdown_hooked = true;
            add_action('shutdown', [self::class, 'flush'], 1);
        }
    }

    public static function flush(): void
    {
        $pending = self::$pending;
        self::$pending = [];
        if (!$pending || !is_configured()) {
            return;
        }
        foreach ($pending as $post_id => $entry) {
            $payload = $entry['payload'];
            if ($payload === null) {
                $post = get_post($post_id);
                $payload = $post ? self::payload($post, $entry['event']) : null;
            }
            if ($payload !== null) {
                self::send($payload, false);
            }
        }
    }

    public static function payload(\WP_Post $post, string $event): ?array
    {
        $content_id = content_id_of((int) $post->ID);
        if ($content_id === '') {
            return null;
        }
        return [
            'event' => $event,
            'post_id' => (int) $post->ID,
            'content_id' => $content_id,
            'status' => (string) $post->post_status,
            'link' => (string) get_permalink($post),
            'modified_gmt' => rest_date_or_null((string) $post->post_modified_gmt),
            'timestamp' => time(),
            'nonce' => wp_generate_uuid4(),
        ];
    }

    public static function ping_payload(): array
    {
        return [
            'event' => 'ping',
            'post_id' => 0,
            'content_id' => '',
            'status' => '',
            'link' => home_url('/'),
            'modified_gmt' => null,
            'timestamp' => time(),
            'nonce' => wp_generate_uuid4(),
        ];
    }

    /**
     * Sign and send one payload. Non-blocking unless $blocking (the test route).
     *
     * @return array|\WP_Error wp_remote_post's result
     */
    public static function send(array $payload, bool $blocking)
    {
        $settings = get_settings();
        $url = webhook_url($settings);
        if (!is_configured($settings) || $url === '') {
            return new \WP_Error('seo_engine_not_configured', 'SEO Engine Companion is not configured');
        }
        $body = wp_json_encode($payload, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($body === false) {
            return new \WP_Error('seo_engine_json', 'could not encode the webhook body');
        }
        $timestamp = (string) $payload['timestamp'];
        $signature = hash_hmac('sha256', $timestamp . '.' . $body, $settings['secret']);
        $args = [
            'body' => $body,
            'data_format' => 'body',
            'headers' => [
                'Content-Type' => 'application/json',
                'X-SEO-Engine-Timestamp' => $timestamp,
                'X-SEO-Engine-Signature' => 'sha256=' . $signature,
            ],
            'timeout' => $blocking ? 10 : 2,
            'blocking' => $blocking,
            'redirection' => 0,
            'user-agent' => 'SEO-Engine-Companion/' . VERSION . '; ' . home_url('/'),
        ];
        /** Filters the wp_remote_post arguments of a webhook (e.g. to make it blocking). */
        $args = (array) apply_filters('seo_engine_companion_webhook_args', $args, $payload);
        return wp_remote_post($url, $args);
    }
}

function content_id_of(int $post_id): string
{
    return (string) get_post_meta($post_id, META_KEY, true);
}
