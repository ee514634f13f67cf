"""Inventory business operations: the only code that changes inventory records.

Plugins that depend on inventory (the bridge) call these functions: ``search_catalog``,
``availability``, ``reserve_stock``, ``release_reservation``, ``create_delivery`` and
``delivery_status(es)``. Services never commit; the caller's transaction does.
"""
from plugins.erp_inventory.services.catalog import (Availability, WarehouseAvailability, availability,
                                                    create_product, product_by_sku, search_catalog,
                                                    update_product)
from plugins.erp_inventory.services.checks import (delivered_by_reference, document_problems,
                                                   purchase_problems, stock_check, stock_problems)
from plugins.erp_inventory.services.documents import (DeliveryStatus, add_line, cancel_document, set_stock_level,
                                                      confirm_document, create_delivery, create_document,
                                                      delivery_status, delivery_statuses, document_lock, get_document,
                                                      remove_line, update_document, validate_document)
from plugins.erp_inventory.services.purchasing import (add_purchase_line, cancel_purchase_order,
                                                       check_reorder, confirm_purchase_order,
                                                       create_purchase_order, create_reorder_rule,
                                                       create_supplier, create_supplier_price,
                                                       get_purchase_order, preferred_price, purchase_order_lock,
                                                       receive_purchase_order,
                                                       replenish, update_purchase_order, update_reorder_rule,
                                                       update_supplier, update_supplier_price)
from plugins.erp_inventory.services.reservations import (active_reservations, release_reservation,
                                                        reserve_stock)
from plugins.erp_inventory.services.stock import (available, create_location, create_warehouse,
                                                  ensure_virtual_locations, get_settings, incoming, location_lock,
                                                  lock_products, on_hand,
                                                  quant_mismatches, reserved, stock_location, update_location,
                                                  update_settings, update_warehouse, virtual_location)

__all__ = [name for name in dir() if not name.startswith("_")]
