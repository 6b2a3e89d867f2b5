<?php
/**
 * Plugin Name: SEO Engine e2e SEO plugin stub
 * Description: Test double for the e2e environment only: declares the constants by which the companion plugin detects Yoast SEO and Rank Math, so that it registers their meta keys for REST.
 * Version: 1.0.0
 */
if (!defined('ABSPATH')) {
    exit;
}
if (!defined('WPSEO_VERSION')) {
    define('WPSEO_VERSION', '0.0.0-e2e-stub');
}
if (!defined('RANK_MATH_VERSION')) {
    define('RANK_MATH_VERSION', '0.0.0-e2e-stub');
}
