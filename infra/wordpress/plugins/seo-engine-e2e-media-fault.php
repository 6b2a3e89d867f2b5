<?php
/**
 * Plugin Name: SEO Engine e2e media fault
 * Description: Test double for the e2e environment only. While the option seo_engine_e2e_media_faults is above zero, each media upload dies with a PHP fatal error while WordPress makes the image's sub-sizes, after the attachment was created: the answer is a 500, as when a host runs out of memory there. Each fault counts the option down.
 * Version: 1.0.0
 */
if (!defined('ABSPATH')) {
    exit;
}
add_filter('wp_generate_attachment_metadata', static function ($metadata, $attachment_id) {
    $left = (int) get_option('seo_engine_e2e_media_faults', 0);
    if ($left > 0) {
        update_option('seo_engine_e2e_media_faults', $left - 1);
        trigger_error('seo-engine e2e: dying while making the sub-sizes of attachment ' . (int) $attachment_id, E_USER_ERROR);
    }
    return $metadata;
}, 10, 2);
